package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.io.IoEngine;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.JobInstance;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * {@code stop} within seconds even when every line of a grep job is costly for the regex engine (yet
 * within its per-line budget, see {@link GrepBudgetTest}): Spring Batch sees a stop only at commits, and
 * one block of such lines takes minutes, so the processor asks between lines and abandons its block. The
 * step ends STOPPED (not FAILED), the chunk is rolled back, and a restart resumes at the last commit with
 * the same matches as a run without a stop: none lost, none twice.
 * <p>
 * The pattern {@code (.*){1,32000}[bc]} (a line that contains b or c) is one the byte automaton does not
 * model, so every line goes to Java's regex engine, which backtracks through every way of cutting the
 * line: about a quarter of a second for 22 a's, and about 30 µs for a line of 6 characters.
 * <p>
 * It relies on settings of {@link ServiceTest}: 64 KiB blocks, 128 KiB ranges (three partitions of the
 * 315 KB file below) and a commit per block.
 */
@ServiceTest
@Timeout(240)
class GrepStopTest {
    static final String PATTERN = "(.*){1,32000}[bc]";
    static final String COSTLY = "a".repeat(22);

    @LocalServerPort
    int port;

    @Autowired
    JobRepository repository;

    @Autowired
    IoEngine engine;

    ApiHttp http;

    @BeforeAll
    static void theRegexEngineSeesEveryLine() {
        assertThat(LineDfa.compile(GrepPattern.compile(PATTERN, false, false).regex.pattern(), false)).isNull();
    }

    @BeforeEach
    void client() {
        http = new ApiHttp(port);
    }

    /**
     * One block of 300 costly lines: over a minute of work between two commits. The stop ends the job
     * within seconds, twice: after the first start and after a restart (which begins the block again).
     */
    @Test
    void aStopEndsAGrepWithinSecondsWhenABlockOfCostlyLinesTakesMinutes() throws Exception {
        Path root = Files.createDirectories(TestDirs.input().resolve("GrepStopTest/costly"));
        Files.writeString(root.resolve("evil.txt"), (COSTLY + "\n").repeat(300), StandardCharsets.US_ASCII);
        long handed = engine.stats().blocks();
        String id = submit(root);

        stopWithinSeconds(id, handed);
        JsonNode stopped = http.job(id);
        assertThat(stopped.path("error").isNull() || stopped.path("error").isMissingNode()).as(stopped.toPrettyString())
                .isTrue();
        assertThat(stopped.path("progress").path("bytesDone").asLong()).isZero();
        StepExecution worker = onlyWorker(executions(id).get(0));
        assertThat(worker.getStatus()).isEqualTo(BatchStatus.STOPPED);
        assertThat(worker.getExitStatus().getExitCode()).isEqualTo("STOPPED");
        assertThat(worker.getRollbackCount()).as("the block in progress was abandoned").isEqualTo(1);

        handed = engine.stats().blocks();
        HttpResponse<String> restart = http.post("/api/jobs/" + id + "/restart");
        assertThat(restart.statusCode()).as(restart.body()).isEqualTo(202);
        stopWithinSeconds(id, handed);
        JsonNode again = http.job(id);
        assertThat(again.path("executions").size()).as(again.toPrettyString()).isEqualTo(2);
        for (JsonNode e : again.path("executions")) {
            assertThat(e.path("status").asString()).isEqualTo("STOPPED");
        }
    }

    /**
     * Three pieces of a file (each a partition) of 64 KiB blocks, each block a few seconds of work: the
     * stop comes in the middle of blocks after some commits; the restart resumes from those commits and
     * gives exactly the matches of the whole file.
     */
    @Test
    void aRestartAfterAStopInsideABlockLosesAndDoublesNoMatch() throws Exception {
        Path root = Files.createDirectories(TestDirs.input().resolve("GrepStopTest/mixed"));
        StringBuilder text = new StringBuilder();
        StringBuilder expected = new StringBuilder();
        for (int i = 1; i <= 45_000; i++) {
            String line = i % 1000 == 500 ? COSTLY : String.format("%c%05d", i % 3 == 0 ? 'c' : 'x', i % 100_000);
            text.append(line).append('\n');
            if (line.indexOf('b') >= 0 || line.indexOf('c') >= 0) {
                expected.append("mixed.txt:").append(i).append(':').append(line).append('\n');
            }
        }
        Files.writeString(root.resolve("mixed.txt"), text, StandardCharsets.US_ASCII);
        long handed = engine.stats().blocks();
        String id = submit(root);

        // stop a little after the first commit, while the workers are inside their next blocks
        JsonNode running = http.await(id, j -> j.path("progress").path("bytesDone").asLong() > 0, 60);
        long total = running.path("progress").path("bytesTotal").asLong();
        assertThat(running.path("partitions").size()).isEqualTo(3);
        stopWithinSeconds(id, handed);
        JsonNode stopped = http.job(id);
        long done = stopped.path("progress").path("bytesDone").asLong();
        assertThat(done).as("committed before the stop").isPositive().isLessThan(total);
        List<StepExecution> workers = executions(id).get(0).getStepExecutions().stream()
                .filter(s -> s.getStepName().startsWith("work:")).toList();
        assertThat(workers).as("a block abandoned half-way (rolled back) by the stop")
                .anyMatch(s -> s.getStatus() == BatchStatus.STOPPED && s.getRollbackCount() == 1);
        assertThat(workers).noneMatch(s -> s.getStatus() == BatchStatus.FAILED);

        HttpResponse<String> restart = http.post("/api/jobs/" + id + "/restart");
        assertThat(restart.statusCode()).as(restart.body()).isEqualTo(202);
        JsonNode completed = http.awaitEnd(id, 120);
        assertThat(completed.path("status").asString()).as(completed.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(completed.path("executions").size()).isEqualTo(2);
        String matches = http.get("/api/jobs/" + id + "/output/matches.txt").body();
        assertThat(matches.length()).isEqualTo(expected.length());
        assertThat(matches).isEqualTo(expected.toString());
    }

    private String submit(Path root) throws IOException, InterruptedException {
        JsonNode job = http.submit("{\"operation\": \"grep\", \"params\": {\"pattern\": \"" + PATTERN.replace("\\", "\\\\")
                + "\"}, \"input\": {\"root\": \"" + root + "\"}}");
        return job.path("id").asString();
    }

    /**
     * Waits until a worker of the job is inside a block: the engine has handed out more blocks since
     * {@code handedBefore} (taken before the start or restart) than the job's workers have committed in
     * this execution. Then stops the job and expects STOPPED within 5 s.
     */
    private void stopWithinSeconds(String id, long handedBefore) throws Exception {
        http.await(id, j -> "processing".equals(j.path("phase").asString())
                && "STARTED".equals(j.path("status").asString()), 60);
        await("a worker of job " + id + " inside a block").atMost(Duration.ofSeconds(60))
                .until(() -> engine.stats().blocks() - handedBefore > written(id));
        long asked = System.nanoTime();
        HttpResponse<String> stop = http.post("/api/jobs/" + id + "/stop");
        assertThat(stop.statusCode()).as(stop.body()).isEqualTo(202);
        JsonNode stopped = http.awaitEnd(id, 5);
        System.out.printf("job %s: %s %.2f s after the stop%n", id, stopped.path("status").asString(),
                (System.nanoTime() - asked) / 1e9);
        assertThat(stopped.path("status").asString()).as(stopped.toPrettyString()).isEqualTo("STOPPED");
    }

    /** The job's Spring Batch executions, oldest first. */
    private List<JobExecution> executions(String id) {
        JobInstance instance = repository.getJobInstance("bulkFile",
                new JobParametersBuilder().addString("jobId", id, true).toJobParameters());
        return repository.getJobExecutions(instance).stream().sorted(Comparator.comparingLong(JobExecution::getId))
                .toList();
    }

    /** Blocks the job's workers have committed in its latest execution. */
    private long written(String id) {
        List<JobExecution> all = executions(id);
        return all.get(all.size() - 1).getStepExecutions().stream().filter(s -> s.getStepName().startsWith("work:"))
                .mapToLong(StepExecution::getWriteCount).sum();
    }

    private static StepExecution onlyWorker(JobExecution execution) {
        List<StepExecution> workers = execution.getStepExecutions().stream()
                .filter(s -> s.getStepName().startsWith("work:")).toList();
        assertThat(workers).hasSize(1);
        return workers.get(0);
    }
}
