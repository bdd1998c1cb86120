# corsd container image: a build stage with the -dev packages, a runtime
# stage with only the shared libraries corsd links (check with ldd).
#
#   docker build -t corsd .
#   docker run -p 8080:8080 -v "$PWD/my.yaml:/etc/corsd/corsd.yaml:ro" corsd
#
# The baked-in policy is conf/corsd.docker.yaml, a placeholder that listens
# on 0.0.0.0:8080 with the admin endpoint on 0.0.0.0:9901: mount yours over
# /etc/corsd/corsd.yaml. Arguments after the image name replace the default
# ones, e.g. `docker run --rm corsd -t -c /etc/corsd/corsd.yaml`.
# Written for buildah/podman as well as Docker: no RUN heredocs, no COPY --link.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      gcc libc6-dev make cmake pkg-config libevent-dev libyaml-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the binary is built from: editing docs or tests keeps the cache.
COPY CMakeLists.txt ./
COPY include/ include/
COPY src/ src/
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCORSD_TESTS=OFF \
 && cmake --build build -j"$(nproc)" \
 && strip --strip-unneeded build/corsd \
 && build/corsd -V

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libevent-2.1-7 libyaml-0-2 \
 && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log /var/cache/debconf/*-old \
 && groupadd --system --gid 10001 corsd \
 && useradd --system --uid 10001 --gid corsd --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin corsd
COPY --from=build /src/build/corsd /usr/sbin/corsd
COPY conf/corsd.docker.yaml /etc/corsd/corsd.yaml
# Check the baked-in policy with the binary that will run it.
RUN /usr/sbin/corsd -t -c /etc/corsd/corsd.yaml
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
# 8080: the proxy; 9901: admin (/healthz, /metrics), for probes only.
EXPOSE 8080 9901
# The admin port the HEALTHCHECK asks; change it with your admin.listen.
ENV CORSD_HEALTH_PORT=9901
# bash's /dev/tcp instead of curl keeps the image small; the status line
# must say 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${CORSD_HEALTH_PORT:-9901} && printf 'GET /healthz HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && read -r -t 3 status <&3 && [[ $status == HTTP/1.?' 200 '* ]]"]
# SIGTERM drains requests in flight for up to timeouts.shutdown, then
# corsd exits 0; give `docker stop -t` more than that.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/sbin/corsd"]
CMD ["-c", "/etc/corsd/corsd.yaml"]
