package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChecksumOperationTest {
    @TempDir
    static Path root;
    static List<String> paths;

    @TempDir
    Path work;

    @BeforeAll
    static void tree() throws IOException {
        List<String> all = new ArrayList<>(TestTrees.standard(root, 1));
        // names coreutils writes escaped
        TestTrees.write(root, "new\nline.txt", TestTrees.ascii("n\n"), all);
        TestTrees.write(root, "carriage\rreturn.txt", TestTrees.ascii("r\n"), all);
        TestTrees.write(root, "both\\and\nnewline", TestTrees.ascii(""), all);
        all.addAll(TestTrees.names(root));
        paths = OperationHarness.sortByBytes(all);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sha256", "sha1", "md5", "sha512"})
    void sameBytesAsCoreutilsWhichAcceptsThem(String algorithm) throws IOException {
        String tool = algorithm + "sum";
        RefTools.assumeTool(tool);
        OperationHarness harness = new OperationHarness(new ChecksumOperation(), algorithm.hashCode());
        Path staging = harness.run(Map.of("algorithm", algorithm), root, paths, work);

        Path result = staging.resolve("checksums." + algorithm);
        assertThat(OperationHarness.snapshot(staging)).containsOnlyKeys("checksums." + algorithm);
        byte[] expected = RefTools.run(root, List.of(tool), paths);
        assertThat(new String(Files.readAllBytes(result), StandardCharsets.ISO_8859_1))
                .isEqualTo(new String(expected, StandardCharsets.ISO_8859_1));
        assertThat(Files.readString(result, StandardCharsets.ISO_8859_1))
                .containsPattern("(?m)^\\\\[0-9a-f]+  both\\\\\\\\and\\\\nnewline$")
                .containsPattern("(?m)^[0-9a-f]+  " + java.util.regex.Pattern.quote(TestTrees.LATIN1) + "$")
                .containsPattern("(?m)^[0-9a-f]+  " + java.util.regex.Pattern.quote(TestTrees.LONGEST) + "$");
        // and the tool checks every file with it
        byte[] check = RefTools.run(root, List.of(tool, "-c", "--strict", result.toString()));
        assertThat(new String(check, StandardCharsets.UTF_8).lines().filter(l -> l.endsWith(": OK")).count())
                .isEqualTo(paths.size());
    }

    @Test
    void defaultIsSha256() {
        assertThat(new ChecksumOperation().validate(Map.of())).containsEntry("algorithm", "sha256");
        assertThat(new ChecksumOperation().validate(Map.of("algorithm", "SHA512")))
                .containsEntry("algorithm", "sha512");
        assertThat(new ChecksumOperation().outputNames(Map.of("algorithm", "md5"), paths))
                .containsExactly("checksums.md5");
    }

    @Test
    void crc32cIsEightHexDigitsOfTheValue() throws IOException {
        OperationHarness harness = new OperationHarness(new ChecksumOperation(), 7);
        Path staging = harness.run(Map.of("algorithm", "crc32c"), root, paths, work);

        StringBuilder expected = new StringBuilder();
        for (String path : paths) {
            CRC32C crc = new CRC32C();
            crc.update(ByteFiles.read(root, path));
            boolean escape = path.contains("\\") || path.contains("\n") || path.contains("\r");
            String name = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
            expected.append(escape ? "\\" : "").append(String.format("%08x", crc.getValue())).append("  ")
                    .append(name).append('\n');
        }
        assertThat(Files.readString(staging.resolve("checksums.crc32c"), StandardCharsets.ISO_8859_1))
                .isEqualTo(expected.toString());
    }

    @Test
    void crc32cCheckValue(@TempDir Path small) throws IOException {
        Files.writeString(small.resolve("check"), "123456789");
        Path staging = new OperationHarness(new ChecksumOperation(), 1)
                .run(Map.of("algorithm", "crc32c"), small, List.of("check"), work);
        // the CRC-32C check value (RFC 3720, "123456789")
        assertThat(Files.readString(staging.resolve("checksums.crc32c"))).isEqualTo("e3069283  check\n");
    }
}
