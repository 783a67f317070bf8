# The service's image, from the jar that `./mvnw package` makes (README, "Kubernetes"):
#
#   ./mvnw package -DskipTests
#   podman build -t ringbatch:0.1.0 .        # or: buildah build ..., docker build ...
#
# Any Java 17 (or later) runtime image with a shell, useradd and getent serves as the base:
#   podman build --build-arg BASE_IMAGE=registry.example.com/java17:latest -t ringbatch:0.1.0 .
# HEALTHCHECK is part of the Docker image format only: podman and buildah keep it with --format docker.
ARG BASE_IMAGE=eclipse-temurin:17-jre

# Spring Boot's layers (dependencies, loader, snapshot dependencies, application), each a layer of the
# image, so that a new build of the service changes the last one or two layers only (about 1 MB of 80 MB).
FROM ${BASE_IMAGE} AS layers
WORKDIR /layers
COPY target/ringbatch-*.jar ringbatch.jar
RUN java -Djarmode=tools -jar ringbatch.jar extract --layers --destination extracted

FROM ${BASE_IMAGE}
# The user and group of the chart's podSecurityContext (runAsUser 1002, runAsGroup 1000). Some bases
# already have a group 1000 (Ubuntu's "ubuntu", in eclipse-temurin): then that one is used.
RUN set -eu; \
    getent group 1000 >/dev/null || groupadd --gid 1000 ringbatch; \
    useradd --uid 1002 --gid 1000 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ringbatch; \
    mkdir -p /app /var/lib/ringbatch /data/input /data/output; \
    chown 1002:1000 /var/lib/ringbatch /data/output

# The JVM's file names and the service's byte-string names agree on UTF-8 whatever the base's locale.
# The directories are the chart's mount paths; the root file system may be read-only: the service writes
# only to /tmp (the JVM, Tomcat and JNA's native library: JNA's cache goes below XDG_CACHE_HOME), the data
# dir and the output root.
ENV LANG=C.UTF-8 \
    XDG_CACHE_HOME=/tmp/.cache \
    RINGBATCH_DATADIR=/var/lib/ringbatch \
    RINGBATCH_INPUTROOTS=/data/input \
    RINGBATCH_OUTPUTROOT=/data/output

WORKDIR /app
COPY --from=layers /layers/extracted/dependencies/ ./
COPY --from=layers /layers/extracted/spring-boot-loader/ ./
COPY --from=layers /layers/extracted/snapshot-dependencies/ ./
COPY --from=layers /layers/extracted/application/ ./

USER 1002:1000
EXPOSE 8080

# Liveness over plain bash (no curl or wget in slim bases); SERVER_PORT if the port was moved.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SERVER_PORT:-8080} && printf 'GET /actuator/health/liveness HTTP/1.0\\r\\n\\r\\n' >&3 && read -r _ status _ <&3 && [ \"$status\" = 200 ]"]

# Exec form: java is PID 1 and gets SIGTERM itself; it stops running jobs at their next commit within
# spring.lifecycle.timeout-per-shutdown-phase (30s), so give the container that long and more to stop
# (docker stop -t 45, podman stop -t 45; the chart's grace period is 60s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["java", "-jar", "/app/ringbatch.jar"]
