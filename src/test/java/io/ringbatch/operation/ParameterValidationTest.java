package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;

class ParameterValidationTest {

    private static void refused(Operation op, Map<String, Object> params, String field, String reason) {
        assertThatThrownBy(() -> op.validate(params)).isInstanceOfSatisfying(InvalidParameterException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.reason()).contains(reason);
        });
    }

    @Test
    void checksum() {
        ChecksumOperation op = new ChecksumOperation();
        refused(op, Map.of("algorithm", "sha3"), "algorithm", "must be one of sha256, sha1, md5, sha512, crc32c");
        refused(op, Map.of("algorithm", 256), "algorithm", "must be a string");
        refused(op, Map.of("algoritm", "md5"), "algoritm", "unknown parameter; this operation takes algorithm");
        assertThat(op.validate(null)).isEqualTo(Map.of("algorithm", "sha256"));
        assertThat(op.validate(Map.of("algorithm", " Crc32C "))).isEqualTo(Map.of("algorithm", "crc32c"));
        Map<String, Object> withNull = new HashMap<>();
        withNull.put("algorithm", null);
        assertThat(op.validate(withNull)).isEqualTo(Map.of("algorithm", "sha256"));
    }

    @Test
    void grep() {
        GrepOperation op = new GrepOperation();
        refused(op, Map.of(), "pattern", "is required");
        refused(op, Map.of("pattern", "a("), "pattern", "invalid regular expression (Java syntax): Unclosed group");
        refused(op, Map.of("pattern", "ok\n[z-a]"), "pattern", "Illegal character range");
        refused(op, Map.of("pattern", "x", "ignoreCase", "yes"), "ignoreCase", "must be true or false");
        refused(op, Map.of("pattern", "x", "invert", 1), "invert", "must be true or false");
        refused(op, Map.of("pattern", "x", "ignorecase", true), "ignorecase", "unknown parameter");
        // a fixed string is never a regex, so "a(" is fine there
        assertThat(op.validate(Map.of("pattern", "a(", "fixed", "TRUE"))).isEqualTo(
                Map.of("pattern", "a(", "fixed", "true", "ignoreCase", "false", "invert", "false"));
        assertThat(op.validate(Map.of("pattern", "", "invert", true))).containsEntry("invert", "true");
    }

    @Test
    void wcTakesNothing() {
        WcOperation op = new WcOperation();
        assertThat(op.validate(Map.of())).isEmpty();
        refused(op, Map.of("lines", true), "lines", "this operation takes none");
    }

    @Test
    void gzip() {
        GzipOperation op = new GzipOperation();
        refused(op, Map.of("level", 0), "level", "must be from 1 to 9, not 0");
        refused(op, Map.of("level", 10), "level", "must be from 1 to 9, not 10");
        refused(op, Map.of("level", "fast"), "level", "must be a whole number from 1 to 9");
        refused(op, Map.of("level", 4.5), "level", "must be a whole number");
        assertThat(op.validate(Map.of())).isEqualTo(Map.of("level", "6"));
        assertThat(op.validate(Map.of("level", "9"))).isEqualTo(Map.of("level", "9"));
        assertThat(op.validate(Map.of("level", 1L))).isEqualTo(Map.of("level", "1"));
        assertThat(op.validate(Map.of("level", 3.0))).isEqualTo(Map.of("level", "3"));
    }

    @Test
    void csvToJsonl() {
        CsvToJsonlOperation op = new CsvToJsonlOperation();
        refused(op, Map.of("delimiter", ";;"), "delimiter", "must be a single character, not 2 characters");
        refused(op, Map.of("delimiter", ""), "delimiter", "must be a single character");
        refused(op, Map.of("delimiter", "\""), "delimiter", "other than a quote");
        refused(op, Map.of("delimiter", "§"), "delimiter", "must be an ASCII character");
        refused(op, Map.of("header", "maybe"), "header", "must be true or false");
        assertThat(op.validate(Map.of())).isEqualTo(Map.of("delimiter", ",", "header", "true"));
        assertThat(op.validate(Map.of("delimiter", "\t", "header", false)))
                .isEqualTo(Map.of("delimiter", "\t", "header", "false"));
    }

    @Test
    void everyOperationIsABeanWithItsOwnNameAndDescribedParameters() {
        try (AnnotationConfigApplicationContext context = new AnnotationConfigApplicationContext("io.ringbatch.operation")) {
            Map<String, Operation> beans = context.getBeansOfType(Operation.class);
            assertThat(beans.values().stream().map(Operation::name))
                    .containsExactlyInAnyOrder("checksum", "grep", "wc", "gzip", "csv-to-jsonl");
            for (Operation op : beans.values()) {
                assertThat(op.description()).isNotBlank();
                for (ParameterSpec spec : op.parameters()) {
                    assertThat(spec.type()).isIn("string", "boolean", "integer", "enum");
                    assertThat(spec.description()).isNotBlank();
                    if (spec.defaultValue() != null) {
                        // the default is what validate fills in
                        Map<String, Object> params = new HashMap<>();
                        op.parameters().stream().filter(ParameterSpec::required).forEach(p -> params.put(p.name(), "x"));
                        assertThat(op.validate(params)).containsEntry(spec.name(), spec.defaultValue());
                    }
                }
            }
            assertThat(beans.values().stream().filter(o -> o.split() == Operation.Split.LINES)
                    .allMatch(Operation::resumableMidPiece)).isTrue();
            assertThat(List.of(Operation.Split.values())).hasSize(3);
        }
    }
}
