package io.ringbatch;

import io.ringbatch.batch.CopyOperation;
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
 * The pipeline driven through {@code JobRunner}, without HTTP: one Spring context shared by the classes
 * so annotated, as {@link ServiceTest} is for the service (read its rules: they hold here too), in
 * {@link TestDirs#runner()}. Its own settings, which {@link ServiceTest}'s classes must not have: three
 * blocks per commit (a failure then leaves output of a chunk's earlier blocks, which a restart must not
 * append to), 64 KiB blocks and 200 KiB ranges (a long line spans blocks and ranges, and files make
 * several partitions), the {@code noop} operation, and the copying operations of {@link CopyOperation}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@SpringBootTest(properties = {
        "ringbatch.io.block-size=64KB",
        "ringbatch.pipeline.split-size=200KB",
        "ringbatch.pipeline.commit-interval=3",
        "ringbatch.workers=2",
        "ringbatch.operations.noop=true"})
@ContextConfiguration(initializers = TestDirs.RunnerDirs.class)
@Import(CopyOperation.Config.class)
public @interface RunnerTest {
}
