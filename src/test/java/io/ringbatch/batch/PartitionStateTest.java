package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ringbatch.io.Dir;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.batch.infrastructure.item.ExecutionContext;

/**
 * A partition attempt's durable state on real files: a new attempt starts from the committed prefix of
 * the attempt before, in files of its own, while the old files (which a worker that was given up may
 * still write past its last commit) are left exactly as they are; and a stop raised by another instance's
 * registry reaches a partition's signal through the shared work directory.
 */
class PartitionStateTest {

    @Test
    void aNewAttemptCopiesTheCommittedPrefixIntoItsOwnFilesAndLeavesTheOldOnesAlone(@TempDir Path root)
            throws Exception {
        JobFiles files = new JobFiles(root, "job-1");
        byte[] committedRecords = frame(3, "first record").array();
        byte[] committedOutput = "line one\nline two\n".getBytes(StandardCharsets.US_ASCII);
        byte[] garbage = "written past the last commit by a worker that was given up\n".getBytes(StandardCharsets.US_ASCII);
        Path oldRecords = files.dir().resolve(JobFiles.recordsName(2, 17));
        Path oldOutput = files.dir().resolve(JobFiles.pieceOutputName(3, 17));
        Files.createDirectories(oldRecords.getParent());
        Files.createDirectories(oldOutput.getParent());
        Files.write(oldRecords, concat(committedRecords, garbage));
        Files.write(oldOutput, concat(committedOutput, garbage));

        // the context attempt 17 committed last, as a restart or a re-dispatch copies it
        ExecutionContext ctx = new ExecutionContext();
        ctx.putInt(PartitionState.PIECE, 3);
        ctx.putLong(PartitionState.OFFSET, 4096);
        ctx.putString(PartitionState.RECORDS_FILE, JobFiles.recordsName(2, 17));
        ctx.putLong(PartitionState.RECORDS, committedRecords.length);
        ctx.putString(PartitionState.OUTPUT_FILE, JobFiles.pieceOutputName(3, 17));
        ctx.putLong(PartitionState.OUTPUT, committedOutput.length);

        try (Dir work = files.open()) {
            PartitionState state = new PartitionState(work, 2, 42, 1, ctx);
            try {
                Path newRecords = files.dir().resolve(JobFiles.recordsName(2, 42));
                Path newOutput = files.dir().resolve(JobFiles.pieceOutputName(3, 42));
                assertThat(Files.readAllBytes(newRecords)).isEqualTo(committedRecords);
                assertThat(Files.readAllBytes(newOutput)).isEqualTo(committedOutput);
                // the old attempt's files: not truncated, not touched
                assertThat(Files.readAllBytes(oldRecords)).isEqualTo(concat(committedRecords, garbage));
                assertThat(Files.readAllBytes(oldOutput)).isEqualTo(concat(committedOutput, garbage));

                // it goes on past the prefix, in its own files, and commits their names and new lengths
                state.record(3, ByteBuffer.wrap("second".getBytes(StandardCharsets.US_ASCII)));
                state.output(3, ByteBuffer.wrap("line three\n".getBytes(StandardCharsets.US_ASCII)));
                ExecutionContext saved = new ExecutionContext();
                state.save(saved, true, true, 8192, null, 3);
                assertThat(saved.getString(PartitionState.RECORDS_FILE)).isEqualTo(JobFiles.recordsName(2, 42));
                assertThat(saved.getLong(PartitionState.RECORDS)).isEqualTo(committedRecords.length + 8 + 6);
                assertThat(saved.getString(PartitionState.OUTPUT_FILE)).isEqualTo(JobFiles.pieceOutputName(3, 42));
                assertThat(saved.getLong(PartitionState.OUTPUT)).isEqualTo(committedOutput.length + 11);
                assertThat(new String(Files.readAllBytes(newOutput), StandardCharsets.US_ASCII))
                        .isEqualTo("line one\nline two\nline three\n");

                // the piece ends: a frame in the records names the attempt whose file holds it, and its length
                state.pieceDone(3);
                ExecutionContext done = new ExecutionContext();
                state.save(done, false, true, -1, null, 4);
                assertThat(done.getInt(PartitionState.PIECE)).isEqualTo(4);
                assertThat(done.containsKey(PartitionState.OUTPUT_FILE)).isFalse();
                ByteBuffer tail = ByteBuffer.wrap(Files.readAllBytes(newRecords));
                tail.position((int) done.getLong(PartitionState.RECORDS) - 24);
                assertThat(tail.getInt()).isEqualTo(-1 - 3);
                assertThat(tail.getInt()).isEqualTo(16);
                assertThat(tail.getLong()).isEqualTo(42);
                assertThat(tail.getLong()).isEqualTo(committedOutput.length + 11);
            } finally {
                state.close();
            }
        }
        assertThat(Files.readAllBytes(oldRecords)).isEqualTo(concat(committedRecords, garbage));
    }

    @Test
    void recordsAreGatheredAndWrittenInOrderByTheCommitAndWhatNoCommitCountedIsNeverRead(@TempDir Path root)
            throws Exception {
        JobFiles files = new JobFiles(root, "job-4");
        Path records = files.dir().resolve(JobFiles.recordsName(1, 7));
        ByteBuffer expected = ByteBuffer.allocate(4 << 20);
        try (Dir work = files.open()) {
            PartitionState state = new PartitionState(work, 1, 7, 0, new ExecutionContext());
            try {
                // many small records (a file each), then one larger than the gathering buffer, then more
                for (int i = 0; i < 5000; i++) {
                    byte[] body = ("record " + i).getBytes(StandardCharsets.US_ASCII);
                    state.record(i, ByteBuffer.wrap(body));
                    expected.put(frame(i, "record " + i));
                }
                byte[] big = new byte[PartitionState.PENDING * 3 + 5];
                java.util.Arrays.fill(big, (byte) 'b');
                state.record(5000, ByteBuffer.wrap(big));
                expected.putInt(5000).putInt(big.length).put(big);
                state.record(5001, ByteBuffer.wrap("after".getBytes(StandardCharsets.US_ASCII)));
                expected.put(frame(5001, "after"));
                ExecutionContext saved = new ExecutionContext();
                state.save(saved, false, false, -1, null, 5002);
                assertThat(saved.getLong(PartitionState.RECORDS)).isEqualTo(expected.position());
                byte[] want = java.util.Arrays.copyOf(expected.array(), expected.position());
                assertThat(Files.readAllBytes(records)).isEqualTo(want);

                // records after the commit that no commit counts: the next attempt starts from the commit
                state.record(6000, ByteBuffer.wrap("lost".getBytes(StandardCharsets.US_ASCII)));
                state.close();
                PartitionState next = new PartitionState(work, 1, 8, 0, saved);
                try {
                    assertThat(Files.readAllBytes(files.dir().resolve(JobFiles.recordsName(1, 8)))).isEqualTo(want);
                } finally {
                    next.close();
                }
            } finally {
                state.close();
            }
        }
    }

    @Test
    void aCommittedPrefixLongerThanTheOldFileFailsTheAttemptWithTheFileNamed(@TempDir Path root) throws Exception {
        JobFiles files = new JobFiles(root, "job-2");
        Path oldRecords = files.dir().resolve(JobFiles.recordsName(0, 5));
        Files.createDirectories(oldRecords.getParent());
        Files.write(oldRecords, new byte[10]);
        ExecutionContext ctx = new ExecutionContext();
        ctx.putString(PartitionState.RECORDS_FILE, JobFiles.recordsName(0, 5));
        ctx.putLong(PartitionState.RECORDS, 100);
        try (Dir work = files.open()) {
            assertThatThrownBy(() -> new PartitionState(work, 0, 6, 0, ctx)).isInstanceOf(IOException.class)
                    .hasMessageContaining(JobFiles.recordsName(0, 5)).hasMessageContaining("100");
        }
    }

    @Test
    void aStopRaisedOnAnotherInstanceReachesThePartitionsSignal(@TempDir Path root) throws Exception {
        StopRegistry here = new StopRegistry(root);
        StopRegistry there = new StopRegistry(root);
        JobFiles files = new JobFiles(root, "job-3");
        try (Dir work = files.open()) {
            StopRegistry.Signal signal = here.signal("job-3", work);
            assertThat(signal.requested()).isFalse();
            there.raise("job-3");
            // the marker is looked for at most every 250 ms: seen within a second
            Awaitility.await("the marker seen").atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10))
                    .until(signal::requested);
            assertThat(here.raised("job-3")).isTrue();
            // another job shares nothing of it
            assertThat(here.raised("job-4")).isFalse();
            here.reset("job-3");
            assertThat(files.dir().resolve(StopRegistry.MARKER)).doesNotExist();
            assertThat(there.raised("job-3")).as("the raising instance's own flag").isTrue();
            there.reset("job-3");
            assertThat(there.raised("job-3")).isFalse();
            assertThat(here.signal("job-3", work).requested()).isFalse();
        }
    }

    private static ByteBuffer frame(int piece, String body) {
        byte[] b = body.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(8 + b.length).putInt(piece).putInt(b.length).put(b).flip();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
