package io.ringbatch;

import io.ringbatch.api.ApiHttp;
import io.ringbatch.api.ListOperation;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.ContextConfiguration;

/**
 * The service as one shared Spring context: on a random port, its data, input and output in
 * {@link TestDirs#shared()}, admin and viewer with {@link ApiHttp}'s passwords, the test operation
 * {@link ListOperation} next to the real ones. Spring's test context cache starts it once for every class
 * so annotated (a context takes about a second to start and more to close while jobs run; the suite had
 * sixteen).
 * <p>
 * Put it on a test class in place of {@code @SpringBootTest}, {@code @DirtiesContext} and a
 * {@code @DynamicPropertySource} of temporary directories, and add nothing that changes the context:
 * no {@code properties}, {@code @TestPropertySource}, {@code @Import}, nested {@code @TestConfiguration},
 * {@code @MockitoBean} or {@code @DirtiesContext}; each would start a context of its own. A class whose
 * test needs other settings (a different engine, a low login limit, one job at a time, a queue it fills,
 * roots on a small file system) keeps its own {@code @SpringBootTest} and says why.
 * <p>
 * The context stays up, unpaused ({@code src/test/resources/spring.properties}), while classes with
 * contexts of their own run in between.
 * <p>
 * The classes share one database, one job queue and one set of roots, one class after another (surefire
 * runs them in sequence; a class's jobs may still be ending when the next starts). So a test
 * <ul>
 * <li>keeps its input under a directory of its own in {@link TestDirs#input()} (e.g. named after the
 * class), and lets the service pick its output directory or names one of its own;</li>
 * <li>finds its jobs by id (or by a name only it uses), never by a position in the list or a total;</li>
 * <li>ends what it starts (awaits the end, or stops the job), so that nothing of it is left running;</li>
 * <li>does not rely on what the whole service counts (metrics, totals) unless it first waits until no job
 * runs.</li>
 * </ul>
 * The settings: 4 jobs at once, a queue that never refuses (the fuzzing submits jobs by the hundred),
 * 2 workers, 64 KiB blocks, 128 KiB ranges and a commit per block (so that small files make several
 * partitions and frequent commits), 8 event streams and 4 per user (few, so that the bounds can be
 * reached), a {@code metrics} user, and a login
 * limit no test reaches (the fuzzing sends wrong passwords).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
        "ringbatch.security.viewer-password=" + ApiHttp.VIEWER_PW,
        "ringbatch.security.login-attempts=100000",
        "ringbatch.max-concurrent-jobs=4",
        "ringbatch.queue-capacity=100000",
        "ringbatch.workers=2",
        "ringbatch.io.block-size=64KB",
        "ringbatch.pipeline.split-size=128KB",
        "ringbatch.pipeline.commit-interval=1",
        "ringbatch.api.max-event-streams=8",
        "ringbatch.api.max-streams-per-user=4",
        "ringbatch.security.metrics-password=" + ServiceTest.METRICS_PW})
@ContextConfiguration(initializers = TestDirs.ServiceDirs.class)
@Import(ListOperation.Config.class)
public @interface ServiceTest {
    /** The password of the user {@code metrics}. */
    String METRICS_PW = "metrics-scrapes-only";
}
