// Live wall: the server pushes the tiles (Server-Sent Events) whenever a ticket moves or a
// deadline passes; each tile's colour and figures are updated in place, no reload.
(function () {
  var wall = document.getElementById("wall");
  if (!wall || !window.EventSource) return;
  var status = document.getElementById("live");
  var names = { green: "正常", amber: "超期", red: "督办/紧急" };
  function paint(el, t) {
    el.classList.remove("green", "amber", "red");
    el.classList.add(t.state);
    el.setAttribute("data-state", t.state);
    var badge = el.querySelector(".badge");
    if (badge) badge.textContent = names[t.state];
    ["found", "resolved", "pending", "overdue", "red"].forEach(function (k) {
      var v = el.querySelector('[data-k="' + k + '"]');
      if (v) v.textContent = String(t[k]);
    });
    var r = el.querySelector('[data-k="on_time"]');
    if (r) r.textContent = t.on_time === null ? "—" : t.on_time + "%";
  }
  var source = new EventSource("/web/live/" + encodeURIComponent(wall.getAttribute("data-unit")));
  source.addEventListener("tiles", function (ev) {
    var data = JSON.parse(ev.data);
    paint(wall.querySelector(".summary"), data.me);
    data.tiles.forEach(function (t) {
      var el = wall.querySelector('.tiles [data-unit="' + CSS.escape(t.unit) + '"]');
      if (el) paint(el, t);
    });
    status.textContent = "实时更新 · " + new Date().toLocaleTimeString("zh-CN");
    status.classList.remove("off");
  });
  source.onerror = function () { status.textContent = "连接中断，正在重连…"; status.classList.add("off"); };
})();
