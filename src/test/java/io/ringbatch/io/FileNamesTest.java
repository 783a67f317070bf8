package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FileNamesTest {

    @Test
    void bytesSurviveTheRoundTripWhateverTheirEncoding() {
        Random random = new Random(7);
        for (int n = 0; n < 1000; n++) {
            byte[] raw = new byte[random.nextInt(300)];
            random.nextBytes(raw);
            String name = FileNames.of(raw);
            assertThat(FileNames.raw(name)).isEqualTo(raw);
            assertThat(FileNames.raw(FileNames.fromBase64(FileNames.base64(name)))).isEqualTo(raw);
            assertThat(FileNames.cString(name)).hasSize(raw.length + 1).endsWith((byte) 0);
        }
    }

    @Test
    void displayKeepsValidUtf8AndEscapesEveryOtherByte() {
        assertThat(FileNames.display(FileNames.ofText("naïve café.log"))).isEqualTo("naïve café.log");
        assertThat(FileNames.isUtf8(FileNames.ofText("naïve café.log"))).isTrue();
        // "caf\xe9" in Latin-1: the é is one byte that is not UTF-8
        String latin1 = FileNames.of("café.txt".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(FileNames.isUtf8(latin1)).isFalse();
        assertThat(FileNames.display(latin1)).isEqualTo("caf\\xE9.txt");
        // a truncated sequence at the end, and a lone continuation byte in the middle
        assertThat(FileNames.display(FileNames.of(new byte[] {'a', (byte) 0x80, 'b', (byte) 0xE2, (byte) 0x82})))
                .isEqualTo("a\\x80b\\xE2\\x82");
        assertThat(FileNames.display(FileNames.of(new byte[] {'t', '\t', 'n', '\n'}))).isEqualTo("t\tn\n");
    }

    @Test
    void inMessageIsTheDisplayFormWithEveryControlCharacterEscaped() {
        String latin1 = FileNames.of("café.txt".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(FileNames.inMessage(latin1)).isEqualTo("caf\\xE9.txt").isEqualTo(FileNames.display(latin1));
        assertThat(FileNames.inMessage(FileNames.ofText("naïve café.log"))).isEqualTo("naïve café.log");
        assertThat(FileNames.inMessage(FileNames.ofText("日本語/ファイル.txt"))).isEqualTo("日本語/ファイル.txt");
        // C0, DEL, C1 (U+0085 is C2 85 in UTF-8) and U+2028/U+2029: the bytes of each, so a message stays one line
        assertThat(FileNames.inMessage(FileNames.ofText("new\nline\ttab\r\u007f\u0085\u2028\u2029.log")))
                .isEqualTo("new\\x0Aline\\x09tab\\x0D\\x7F\\xC2\\x85\\xE2\\x80\\xA8\\xE2\\x80\\xA9.log");
        // a backslash stays a backslash, as in display; invalid bytes next to controls keep their order
        assertThat(FileNames.inMessage(FileNames.of(new byte[] {'a', '\\', 'b', (byte) 0xE9, '\n', (byte) 0xFF})))
                .isEqualTo("a\\b\\xE9\\x0A\\xFF");
    }

    @Test
    void inMessageOfAnyBytesIsOneLineOfValidTextWithoutReplacementCharacters() {
        Random random = new Random(18);
        java.util.regex.Pattern lineBreak = java.util.regex.Pattern.compile("\\R");
        for (int n = 0; n < 2000; n++) {
            byte[] raw = new byte[random.nextInt(64)];
            random.nextBytes(raw);
            String shown = FileNames.inMessage(FileNames.of(raw));
            assertThat(lineBreak.matcher(shown).find()).as("%s", shown).isFalse();
            assertThat(shown).doesNotContain("\uFFFD");
            assertThat(shown.chars().noneMatch(Character::isISOControl)).as("%s", shown).isTrue();
            // well-formed: no lone surrogate, so it encodes to UTF-8 and back unchanged
            assertThat(new String(shown.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).isEqualTo(shown);
            if (FileNames.isUtf8(FileNames.of(raw)) && new String(raw, StandardCharsets.UTF_8).chars()
                    .noneMatch(c -> Character.isISOControl(c) || c == 0x2028 || c == 0x2029)) {
                assertThat(shown).isEqualTo(new String(raw, StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void aPathInMessageIsItsBytesAsTheJvmHandsThemToTheKernel() {
        java.nio.file.Path path = java.nio.file.Path.of("/data/in/new\nline");
        assertThat(FileNames.ofPath(path)).isEqualTo(FileNames.ofText("/data/in/new\nline"));
        assertThat(FileNames.inMessage(path)).isEqualTo("/data/in/new\\x0Aline");
    }

    @Test
    void byteStringsSortAsUnsignedBytes() {
        Random random = new Random(11);
        List<byte[]> raws = new ArrayList<>();
        for (int n = 0; n < 500; n++) {
            byte[] raw = new byte[1 + random.nextInt(6)];
            random.nextBytes(raw);
            raws.add(raw);
        }
        List<String> names = new ArrayList<>(raws.stream().map(FileNames::of).toList());
        names.sort(FileNames.ORDER);
        raws.sort(Arrays::compareUnsigned);
        assertThat(names.stream().map(FileNames::raw).toList()).containsExactlyElementsOf(raws);
    }

    @Test
    void textThatIsNotAByteStringIsRefused() {
        assertThatThrownBy(() -> FileNames.raw("€")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("byte string");
        assertThatThrownBy(() -> FileNames.fromBase64("not base64!")).isInstanceOf(IllegalArgumentException.class);
    }
}
