package io.ringbatch.cluster;

import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Whether partitions travel between instances: {@code ringbatch.cluster.enabled}, by default on when the
 * job repository is PostgreSQL ({@code spring.datasource.url} is {@code jdbc:postgresql:…}) and off on H2,
 * where the partitions of a job run on the local executor as they always have.
 */
public final class ClusterMode implements Condition {

    /** Whether the cluster transport is on for these settings. */
    public static boolean enabled(Environment env) {
        String explicit = env.getProperty("ringbatch.cluster.enabled");
        boolean postgres = postgres(env);
        if (explicit != null && !explicit.isBlank()) {
            return Boolean.parseBoolean(explicit.strip()) && postgres;
        }
        return postgres;
    }

    /** Whether the datasource is PostgreSQL (the only database the transport runs on). */
    public static boolean postgres(Environment env) {
        String url = env.getProperty("spring.datasource.url", "");
        return url.startsWith("jdbc:postgresql:");
    }

    @Override
    public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
        return enabled(context.getEnvironment());
    }
}
