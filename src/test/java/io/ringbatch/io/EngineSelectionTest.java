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
        new Ring(0, 0).close();
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
        try (Ring ring = new Ring(8, 32)) {
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
}
