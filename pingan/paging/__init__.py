"""Paging that wakes people: an urgent ticket nobody has answered in chat within minutes gets SMS
(and optionally voice) calls to its holder's and the duty lead's mobiles, then up the ladder.

- settings: the `[paging]` config section;
- (who is paged at which step, and the paging sweep, is the rule pingan/rules/paging.py;)
- tencent: the outbox senders for platforms `sms` and `voice` (Tencent Cloud SMS/VMS SDKs), and the
  SMS reply callback (a paged person's 「1」) that `pingan serve` mounts."""
