package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A regex that backtracks catastrophically must not hold a worker: patterns the byte automaton models
 * never backtrack at all; one it cannot model (here, a repeat count over 1000) runs on the regex engine
 * with a budget per line, and a line past the budget fails the piece with a message naming the pattern,
 * the file and the line, within about a second instead of hours.
 */
@Timeout(60)
class GrepBudgetTest {
    static final String LINE = "a".repeat(40) + "b\n";

    @Test
    void theAutomatonAnswersNestedQuantifiersWithoutBacktracking(@TempDir Path dir) throws Exception {
        Path root = Files.createDirectories(dir.resolve("in"));
        Files.writeString(root.resolve("evil.txt"), ("x\n" + LINE).repeat(50) + "aaaa\n", StandardCharsets.US_ASCII);
        Path out = new OperationHarness(new GrepOperation(), 1).run(Map.of("pattern", "(a+)+$"), root,
                List.of("evil.txt"), dir.resolve("work"));
        assertThat(Files.readString(out.resolve("matches.txt"))).isEqualTo("evil.txt:101:aaaa\n");
    }

    @Test
    void aPatternTheAutomatonCannotModelFailsWithAMessageInsteadOfRunningForever(@TempDir Path dir) throws Exception {
        // a repeat count above what the automaton models: it steps aside, and Java's engine backtracks
        // through every way of cutting the line into pieces
        String pattern = "(.*){1,32000}[bc]";
        assertThat(LineDfa.compile(GrepPattern.compile(pattern, false, false).regex.pattern(), false))
                .as("the automaton does not model it: the regex engine runs").isNull();
        Path root = Files.createDirectories(dir.resolve("in"));
        Files.writeString(root.resolve("evil.txt"), "fine b\n" + "a".repeat(32) + "\n", StandardCharsets.US_ASCII);
        long started = System.nanoTime();
        assertThatThrownBy(() -> new OperationHarness(new GrepOperation(), 1).run(Map.of("pattern", pattern), root,
                List.of("evil.txt"), dir.resolve("work")))
                .isInstanceOf(GrepOperation.PatternTooCostlyException.class)
                .hasMessageContaining(pattern).hasMessageContaining("evil.txt").hasMessageContaining("line 2")
                .hasMessageContaining("simplify it");
        System.out.printf("catastrophic line refused after %.2f s%n", (System.nanoTime() - started) / 1e9);

        // the same pattern on lines without the trap still matches as grep does
        Files.writeString(root.resolve("evil.txt"), "aab\nxyz\nc\n", StandardCharsets.US_ASCII);
        Path out = new OperationHarness(new GrepOperation(), 1).run(Map.of("pattern", pattern), root,
                List.of("evil.txt"), dir.resolve("work2"));
        assertThat(Files.readString(out.resolve("matches.txt"))).isEqualTo("evil.txt:1:aab\nevil.txt:3:c\n");
    }
}
