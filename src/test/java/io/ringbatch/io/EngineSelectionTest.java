package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@code ringbatch.io.engine}: auto falls back where io_uring is refused; io_uring forced then fails. */
class EngineSelectionTest {

    private static final IoEngines.UringStarter REFUSED_BY_SECCOMP = options -> {
        throw new IoUringUnavailableException("io_uring_setup", Errno.EPERM);
    };

    /** A real refusal from this kernel: a ring of zero entries is EINVAL. */
    private static final IoEngines.UringStarter REFUSED_BY_KERNEL = options -> {
        Ring.open(0, 0, -1).close();
        throw new AssertionError("the kernel accepted a ring of zero entries");
    };

    @Test
    void autoRunsIoUringWhereTheKernelAllowsIt() {
        IoEngines.Selection selection = IoEngines.select(IoEngines.Mode.AUTO, IoOptions.defaults());
        try (IoEngine engine = selection.engine()) {
            assertThat(engine).isInstanceOf(IoUringEngine.class);
            assertThat(selection.fallbackReason()).isNull();
            assertThat(((IoUringEngine) engine).ringEntries()).isEqualTo(64);
        }
    }

    @Test
    void autoFallsBackToBlockingWhenSeccompSaysEperm() {
        IoEngines.Selection selection = IoEngines.select(IoEngines.Mode.AUTO, IoOptions.defaults(), REFUSED_BY_SECCOMP);
        try (IoEngine engine = selection.engine()) {
            assertThat(engine.name()).isEqualTo("blocking");
            assertThat(selection.fallbackReason()).contains("io_uring_setup").contains("EPERM").contains("seccomp");
        }
    }

    @Test
    void autoFallsBackWhenTheKernelRefusesTheRing() {
        IoEngines.Selection selection = IoEngines.select(IoEngines.Mode.AUTO, IoOptions.defaults(), REFUSED_BY_KERNEL);
        try (IoEngine engine = selection.engine()) {
            assertThat(engine.name()).isEqualTo("blocking");
            assertThat(selection.fallbackReason()).contains("EINVAL");
        }
    }

    @Test
    void forcedIoUringFailsLoudlyWhenRefused() {
        assertThatThrownBy(() -> IoEngines.select(IoEngines.Mode.IO_URING, IoOptions.defaults(), REFUSED_BY_SECCOMP))
                .isInstanceOf(IoEngineUnavailableException.class)
                .hasMessageContaining("ringbatch.io.engine=io_uring")
                .hasMessageContaining("EPERM")
                .hasMessageContaining("ringbatch.io.engine=auto or blocking");
    }

    @Test
    void blockingIsUsedWhenAskedFor() {
        IoEngines.Selection selection = IoEngines.select(IoEngines.Mode.BLOCKING, IoOptions.defaults(), REFUSED_BY_SECCOMP);
        try (IoEngine engine = selection.engine()) {
            assertThat(engine.name()).isEqualTo("blocking");
            assertThat(selection.fallbackReason()).isNull();
        }
    }

    @Test
    void modesParseAndRefuseNonsense() {
        assertThat(IoEngines.Mode.parse("io_uring")).isEqualTo(IoEngines.Mode.IO_URING);
        assertThat(IoEngines.Mode.parse(" AUTO ")).isEqualTo(IoEngines.Mode.AUTO);
        assertThat(IoEngines.Mode.parse("blocking")).isEqualTo(IoEngines.Mode.BLOCKING);
        assertThatThrownBy(() -> IoEngines.Mode.parse("epoll")).hasMessageContaining("auto, io_uring or blocking");
    }

    @Test
    void otherArchitecturesAreRefusedByName() {
        assertThat(Arch.detect("Linux", "amd64")).isEqualTo(Arch.X86_64);
        assertThat(Arch.detect("Linux", "aarch64")).isEqualTo(Arch.AARCH64);
        assertThat(Arch.detect("Linux", "riscv64")).isNull();
        assertThat(Arch.detect("Mac OS X", "aarch64")).isNull();
        assertThat(Arch.X86_64.oDirect).isEqualTo(0x4000);
        assertThat(Arch.AARCH64.oDirect).isEqualTo(0x10000);
    }

    @Test
    void theRingDoesWhatTheAbiSays() throws Exception {
        try (Ring ring = Ring.open(8, 32, -1)) {
            assertThat(ring.sqEntries).isEqualTo(8);
            assertThat(ring.cqEntries).isEqualTo(32);
            assertThat(ring.noDrop()).isTrue();
            assertThat(ring.supports(Uring.OP_READ)).isTrue();
            // many SQEs, one io_uring_enter, completions reaped in one batch
            for (int i = 0; i < 8; i++) {
                assertThat(ring.prepNop(100 + i)).isTrue();
            }
            assertThat(ring.prepNop(999)).as("SQ full").isFalse();
            assertThat(ring.enter(ring.publish(), 8)).isEqualTo(8);
            long[] seen = new long[8];
            int[] n = {0};
            assertThat(ring.reap((userData, res) -> {
                assertThat(res).isZero();
                seen[n[0]++] = userData;
            })).isEqualTo(8);
            assertThat(seen).containsExactlyInAnyOrder(100, 101, 102, 103, 104, 105, 106, 107);
            assertThat(ring.cqReady()).isZero();
            assertThat(ring.sqSpace()).isEqualTo(8);
        }
    }

    @Test
    void aHandlerThatThrowsLosesNoCompletion() throws Exception {
        try (Ring ring = Ring.open(8, 32, -1)) {
            for (int i = 0; i < 3; i++) {
                assertThat(ring.prepNop(i)).isTrue();
            }
            assertThat(ring.enter(ring.publish(), 3)).isEqualTo(3);
            java.util.List<Long> seen = new java.util.ArrayList<>();
            assertThatThrownBy(() -> ring.reap((userData, res) -> {
                if (userData == 1 && !seen.contains(-1L)) {
                    seen.add(-1L);
                    throw new IllegalStateException("handler failed");
                }
                seen.add(userData);
            })).hasMessage("handler failed");
            // the one that threw and the one after it are still there
            assertThat(ring.cqReady()).isEqualTo(2);
            assertThat(ring.reap((userData, res) -> seen.add(userData))).isEqualTo(2);
            assertThat(seen).containsExactly(0L, -1L, 1L, 2L);
        }
    }

    /** Set-up drops the optional flags an older kernel refuses, one by one, and says which it runs with. */
    @Test
    void setUpRunsWithoutTheFlagsAnOlderKernelRefuses() {
        Faults faults = Faults.install();
        try {
            faults.refusedSetupFlags = Uring.SETUP_SUBMIT_ALL; // Linux 5.10 and 5.15
            try (IoUringEngine engine = new IoUringEngine(IoOptions.defaults())) {
                assertThat(engine.features()).contains("IORING_SETUP_CLAMP", "IORING_SETUP_CQSIZE")
                        .doesNotContain("IORING_SETUP_SUBMIT_ALL");
            }
            faults.refusedSetupFlags = Uring.SETUP_SUBMIT_ALL | Uring.SETUP_CLAMP;
            faults.hiddenFeatures = Uring.FEAT_EXT_ARG; // before 5.11: waits are bounded by IORING_OP_TIMEOUT
            try (IoUringEngine engine = new IoUringEngine(IoOptions.defaults())) {
                assertThat(engine.features()).containsExactly("IORING_SETUP_CQSIZE", "IORING_OP_TIMEOUT");
            }
            // a kernel that refuses even the required flags has no io_uring ringbatch can use: the reason says so
            faults.refusedSetupFlags = Uring.SETUP_CQSIZE;
            IoEngines.Selection selection = IoEngines.select(IoEngines.Mode.AUTO, IoOptions.defaults());
            try (IoEngine engine = selection.engine()) {
                assertThat(engine.name()).isEqualTo("blocking");
                assertThat(selection.fallbackReason()).contains("EINVAL").contains("Linux 5.6 or later");
            }
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        } finally {
            Faults.uninstall();
        }
        try (IoUringEngine engine = new IoUringEngine(IoOptions.defaults())) {
            // this machine's kernel (6.x) takes every flag
            assertThat(engine.features()).contains("IORING_SETUP_SUBMIT_ALL", "IORING_FEAT_EXT_ARG");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
