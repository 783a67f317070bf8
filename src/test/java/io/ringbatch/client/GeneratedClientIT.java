package io.ringbatch.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.ringbatch.batch.ServiceProcess;
import io.ringbatch.client.api.JobsApi;
import io.ringbatch.client.model.FieldError;
import io.ringbatch.client.model.Job;
import io.ringbatch.client.model.JobInput;
import io.ringbatch.client.model.JobPage;
import io.ringbatch.client.model.JobRequest;
import io.ringbatch.client.model.JobSummary;
import io.ringbatch.client.model.OutputFile;
import io.ringbatch.client.model.OutputListing;
import io.ringbatch.client.model.Problem;
import java.io.File;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client a user generates from the description (docs/openapi.json, by openapi-generator's native
 * library, at build time) runs the whole life of a job against the packaged jar, and reads each kind of
 * error as the typed {@link Problem}. One job at a time and a queue of one, so that a second job queues
 * and a third is refused (429). The long job counts the lines of a 128 MiB file in 128 KB ranges with a
 * commit per 64 KiB block: 1,024 partitions and 2,048 commits, 2 to 4 s here, in which the next two
 * submissions come a few milliseconds after it started. The queued job is the one stopped and restarted,
 * so that no stop races the end of a run.
 */
@Timeout(300)
class GeneratedClientIT {
    @TempDir
    static Path dir;
    static ServiceProcess service;
    static ApiClient client;
    static JobsApi jobs;
    static Path input;
    static Path output;

    @BeforeAll
    static void start() throws Exception {
        input = Files.createDirectories(dir.resolve("input"));
        output = Files.createDirectories(dir.resolve("output"));
        Files.createDirectories(input.resolve("small"));
        Files.writeString(input.resolve("small/a.txt"), "one\ntwo\nthree\n");
        Files.createDirectories(input.resolve("small/sub"));
        Files.writeString(input.resolve("small/sub/b.txt"), "four\n");
        Files.createDirectories(input.resolve("big"));
        byte[] lines = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n".repeat(16384)
                .getBytes(StandardCharsets.US_ASCII); // 1 MiB of 64-byte lines
        try (OutputStream big = Files.newOutputStream(input.resolve("big/lines.txt"))) {
            for (int i = 0; i < 128; i++) {
                big.write(lines);
            }
        }
        int port = ServiceProcess.freePort();
        // the log outside the temporary directory, so that it is still there to read after a failure
        Path log = Path.of("target", "GeneratedClientIT-service.log");
        Files.deleteIfExists(log);
        service = ServiceProcess.start(dir, port, log, List.of(
                "--ringbatch.data-dir=" + Files.createDirectories(dir.resolve("data")),
                "--ringbatch.input-roots=" + input,
                "--ringbatch.output-root=" + output,
                "--ringbatch.max-concurrent-jobs=1",
                "--ringbatch.queue-capacity=1",
                "--ringbatch.workers=1",
                "--ringbatch.io.block-size=64KB",
                "--ringbatch.pipeline.split-size=128KB",
                "--ringbatch.pipeline.commit-interval=1"));
        String basic = "Basic " + Base64.getEncoder()
                .encodeToString(("admin:" + ServiceProcess.PASSWORD).getBytes(StandardCharsets.UTF_8));
        // the description's server is relative ("/"): the client is pointed at the service, as a user would
        client = new ApiClient();
        client.updateBaseUri("http://localhost:" + port);
        client.setRequestInterceptor(request -> request.header("Authorization", basic));
        client.setReadTimeout(Duration.ofSeconds(30));
        jobs = new JobsApi(client);
    }

    @AfterAll
    static void stop() throws Exception {
        if (service != null) {
            service.close();
        }
    }

    @Test
    void aJobsWholeLifeAndEachKindOfProblem() throws Exception {
        // submit, get, list, and download the output of a small job
        Job small = jobs.submitJob(wc("small"), null);
        assertThat(small.getId()).isNotBlank();
        Job done = awaitJob(small.getId(), j -> j.getStatus() == Job.StatusEnum.COMPLETED);
        assertThat(done.getOperation()).isEqualTo("wc");
        JobPage page = jobs.listJobs(List.of("COMPLETED"), small.getId(), null, null, 0, 20);
        assertThat(page.getItems()).extracting(JobSummary::getId).containsExactly(small.getId());
        OutputListing listing = jobs.listOutput(small.getId());
        assertThat(listing.getFiles()).isNotEmpty();
        OutputFile first = listing.getFiles().get(0);
        File downloaded = jobs.downloadOutput(small.getId(), first.getName());
        assertThat(Files.readAllBytes(downloaded.toPath()))
                .isEqualTo(Files.readAllBytes(Path.of(listing.getPath()).resolve(first.getName())));
        assertThat(downloaded.length()).isEqualTo(first.getSize());

        // a nested output (gzip names it after its input, sub/b.txt.gz) by the bytes of its name: the path
        // form would carry the slash encoded (%2F), which the server's firewall refuses
        Job gzip = jobs.submitJob(new JobRequest().name("generated client").operation("gzip")
                .input(new JobInput().root(input.resolve("small").toString())), null);
        awaitJob(gzip.getId(), j -> j.getStatus() == Job.StatusEnum.COMPLETED);
        OutputListing zipped = jobs.listOutput(gzip.getId());
        OutputFile nested = zipped.getFiles().stream().filter(f -> f.getName().equals("sub/b.txt.gz")).findFirst()
                .orElseThrow(() -> new AssertionError("no sub/b.txt.gz in " + zipped.getFiles()));
        assertThat(Base64.getUrlDecoder().decode(nested.getNameBase64()))
                .isEqualTo("sub/b.txt.gz".getBytes(StandardCharsets.UTF_8));
        File nestedFile = jobs.downloadOutputFile(gzip.getId(), nested.getNameBase64());
        assertThat(Files.readAllBytes(nestedFile.toPath()))
                .isEqualTo(Files.readAllBytes(Path.of(zipped.getPath()).resolve("sub/b.txt.gz")));

        // a long job runs, a second queues behind it, a third is refused: 429 with Retry-After
        Job running = jobs.submitJob(wc("big"), null);
        awaitJob(running.getId(), j -> j.getStatus() == Job.StatusEnum.STARTED);
        Job queued = jobs.submitJob(wc("big"), null);
        assertThat(queued.getStatus()).isEqualTo(Job.StatusEnum.QUEUED);
        ApiException full = catchThrowableOfType(ApiException.class, () -> jobs.submitJob(wc("small"), null));
        assertThat(problem(full, 429).getDetail()).contains("queue is full");
        assertThat(full.getResponseHeaders().firstValue("Retry-After")).isPresent();

        // the queued job is stopped (it leaves the queue), restarted (it queues again) and then runs through
        Job stopped = jobs.stopJob(queued.getId());
        assertThat(stopped.getStatus()).isEqualTo(Job.StatusEnum.STOPPED);
        Job restarted = jobs.restartJob(queued.getId());
        assertThat(restarted.getStatus()).isIn(Job.StatusEnum.QUEUED, Job.StatusEnum.STARTING,
                Job.StatusEnum.STARTED);
        JobPage mine = jobs.listJobs(null, "generated client", "created", "asc", 0, 100);
        assertThat(mine.getItems()).extracting(JobSummary::getId)
                .containsSubsequence(small.getId(), running.getId(), queued.getId());
        awaitJob(running.getId(), j -> j.getStatus() == Job.StatusEnum.COMPLETED);
        awaitJob(queued.getId(), j -> j.getStatus() == Job.StatusEnum.COMPLETED);

        // 409: a completed job cannot be stopped
        ApiException conflict = catchThrowableOfType(ApiException.class, () -> jobs.stopJob(small.getId()));
        assertThat(problem(conflict, 409).getDetail()).contains(small.getId());

        // 404: no such job
        ApiException missing = catchThrowableOfType(ApiException.class, () -> jobs.getJob("nosuchjob"));
        assertThat(problem(missing, 404).getDetail()).contains("nosuchjob");

        // 400: every wrong field listed
        JobRequest bad = new JobRequest().operation("wc").input(new JobInput().root("relative/path"))
                .params(Map.of("colour", "red"));
        ApiException invalid = catchThrowableOfType(ApiException.class, () -> jobs.submitJob(bad, null));
        Problem problem = problem(invalid, 400);
        assertThat(problem.getErrors()).isNotEmpty().allSatisfy(e -> assertThat(e.getReason()).isNotBlank());
        assertThat(problem.getErrors()).extracting(FieldError::getField).contains(problem.getField());
    }

    private static JobRequest wc(String subdirectory) {
        return new JobRequest().name("generated client").operation("wc")
                .input(new JobInput().root(input.resolve(subdirectory).toString()));
    }

    private static Job awaitJob(String id, Predicate<Job> until) {
        return await("job " + id).atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100))
                .until(() -> jobs.getJob(id), job -> {
                    assertThat(job.getStatus()).as("job %s: %s", id, job.getError())
                            .isNotEqualTo(Job.StatusEnum.FAILED);
                    return until.test(job);
                });
    }

    /** The error's body as the description's Problem, read by the generated client's own mapper. */
    private static Problem problem(ApiException e, int status) throws Exception {
        assertThat(e).as("a %d problem", status).isNotNull();
        assertThat(e.getCode()).as(e.getResponseBody()).isEqualTo(status);
        assertThat(e.getResponseHeaders().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("application/problem+json"));
        Problem problem = client.getObjectMapper().readValue(e.getResponseBody(), Problem.class);
        assertThat(problem.getStatus()).isEqualTo(status);
        assertThat(problem.getTitle()).isNotBlank();
        return problem;
    }
}
