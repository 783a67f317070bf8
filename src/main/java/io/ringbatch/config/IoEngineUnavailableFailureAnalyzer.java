package io.ringbatch.config;

import io.ringbatch.io.IoEngineUnavailableException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns "io_uring forced but refused" into a start-up report instead of a stack trace. Registered in
 * {@code META-INF/spring.factories}.
 */
public class IoEngineUnavailableFailureAnalyzer extends AbstractFailureAnalyzer<IoEngineUnavailableException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, IoEngineUnavailableException cause) {
        Throwable refusal = cause.getCause();
        String why = refusal == null || refusal.getMessage() == null ? cause.getMessage() : refusal.getMessage();
        String description = "ringbatch.io.engine is set to io_uring, but io_uring cannot run here: " + why + ".";
        String action = """
                Either let io_uring through, or choose another engine:
                \t- in a container, run with a seccomp profile that allows io_uring_setup, io_uring_enter and \
                io_uring_register (Docker >= 25 and containerd 2 block them by default), and check that \
                sysctl kernel.io_uring_disabled is 0;
                \t- or set ringbatch.io.engine=auto (RINGBATCH_IO_ENGINE=auto) to fall back to the blocking \
                engine when io_uring is refused, or ringbatch.io.engine=blocking.""";
        return new FailureAnalysis(description, action, cause);
    }
}
