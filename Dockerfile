# pingan server image: slim Python, a CJK font for digest charts, non-root user.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 pingan
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pingan ./pingan
RUN pip install --no-cache-dir . && mkdir /data && chown pingan /data
COPY config.toml ./

USER pingan
ENV PINGAN_CONFIG=/app/config.toml \
    PINGAN_DATABASE_URL=sqlite+aiosqlite:////data/pingan.db \
    PINGAN__SERVER__HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
CMD ["pingan", "serve"]
