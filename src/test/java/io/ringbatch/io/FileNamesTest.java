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
