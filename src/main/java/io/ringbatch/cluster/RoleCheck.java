package io.ringbatch.cluster;

import io.ringbatch.config.RingbatchProperties;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/** Refuses to start a worker ({@code ringbatch.role=worker}) where partitions cannot reach it (H2). */
@Component
class RoleCheck {
    RoleCheck(RingbatchProperties properties, Environment env) {
        if (properties.role() == RingbatchProperties.Role.WORKER && !ClusterMode.enabled(env)) {
            throw new WorkerNeedsPostgresException(ClusterMode.postgres(env)
                    ? "ringbatch.role=worker needs the cluster transport, but ringbatch.cluster.enabled is false."
                    : "ringbatch.role=worker needs PostgreSQL as the job repository; this instance uses "
                            + env.getProperty("spring.datasource.url", "the built-in H2") + ".");
        }
    }
}
