package io.ringbatch.operation;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.springframework.stereotype.Component;

/**
 * {@code gzip}: every file compressed to {@code <path>.gz} in the same tree (the name's bytes as they are,
 * plus {@code .gz}); {@code gzip -t} accepts each and {@code zcat} gives back the input byte for byte (an
 * empty file too). A file whose name has more than 252 bytes is not processed: its output's name would
 * pass the 255 bytes a name may have ({@link #refusal}).
 * <p>
 * Split anywhere: each piece becomes one gzip member (RFC 1952: a 10-byte header without name or time,
 * like {@code gzip -n}, raw deflate at the chosen level, CRC-32 and length) in the piece's own output
 * file, written straight from the {@link Deflater} into a reused buffer. The merge puts a file of one
 * piece in place as it is (a hard link, no copy) and concatenates the members of a split file in piece
 * order, which gzip reads as one stream. Records: one per piece at {@code finish} ({@code 'Z'}), marking
 * it done; a file with a piece that has none (skipped) gets no output.
 */
@Component
public class GzipOperation implements Operation {
    static final String LEVEL = "level";
    private static final byte DONE = 'Z';
    private static final int OUT_BUFFER = 1 << 17;
    private static final byte[] NO_INPUT = new byte[0];

    /** Output buffers, used only inside one call (empty between calls), so any thread may reuse them. */
    private static final ThreadLocal<ByteBuffer> OUT = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(OUT_BUFFER).order(ByteOrder.LITTLE_ENDIAN));

    private static final List<ParameterSpec> PARAMETERS = List.of(new ParameterSpec(LEVEL, "integer", false, "6",
            List.of("1", "9"), "compression level, 1 (fastest) to 9 (smallest), as gzip -1 ... -9"));

    @Override
    public String name() {
        return "gzip";
    }

    @Override
    public String description() {
        return "Every file compressed to <path>.gz in the same tree, as gzip does";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return PARAMETERS;
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        return Params.normalised(LEVEL, Params.of(params, PARAMETERS).integer(LEVEL, 6, 1, 9));
    }

    @Override
    public Split split() {
        return Split.BYTES;
    }

    /** Deflate at level 6 runs at about 25 MB/s a core: partitions take seconds each. */
    @Override
    public boolean slowPerByte() {
        return true;
    }

    @Override
    public boolean resumableMidPiece() {
        return false;
    }

    @Override
    public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) {
        int level = Integer.parseInt(Params.stored(params, LEVEL, "6"));
        if (level < 1 || level > 9) {
            throw new IllegalArgumentException("gzip level " + level);
        }
        return new GzipProcessor(level);
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        BitSet done = new BitSet();
        in.forEachRecord((piece, bytes) -> {
            if (bytes.remaining() != 1 || bytes.get() != DONE) {
                throw new IOException("gzip: unknown record from piece " + piece.index());
            }
            done.set(piece.index());
        });
        List<Piece> pieces = in.pieces();
        for (int i = 0; i < pieces.size(); ) {
            int j = i;
            while (j < pieces.size() && pieces.get(j).fileIndex() == pieces.get(i).fileIndex()) {
                j++;
            }
            List<Integer> members = new ArrayList<>();
            boolean complete = true;
            for (Piece p : pieces.subList(i, j)) {
                complete &= done.get(p.index());
                members.add(p.index());
            }
            String path = pieces.get(i).path();
            // a refused file has no records, so it is never complete: this only keeps the two rules together
            if (complete && refusal(params, path, List.of()) == null) {
                String target = outputName(path);
                if (members.size() == 1) {
                    in.files().place(members.get(0), target);
                } else {
                    in.files().concatenate(members, target);
                }
            }
            i = j;
        }
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return inputPaths.stream().filter(p -> refusal(params, p, inputPaths) == null).map(GzipOperation::outputName)
                .toList();
    }

    /** {@code <path>.gz}: the input's name bytes and the suffix. */
    static String outputName(String path) {
        return path + ".gz";
    }

    /** An input whose name has more than 252 bytes: with {@code .gz} it would pass NAME_MAX. */
    @Override
    public String refusal(Map<String, String> params, String path, List<String> allPaths) {
        return OutputNames.refusal(path, outputName(path));
    }

    static final class GzipProcessor implements PieceProcessor {
        private final Deflater deflater;
        private final CRC32 crc = new CRC32();
        private final int level;
        private long size;
        private boolean headerWritten;

        GzipProcessor(int level) {
            this.level = level;
            this.deflater = new Deflater(level, true);
        }

        @Override
        public void process(ByteBuffer data, FragmentSink sink) throws IOException {
            ByteBuffer out = OUT.get();
            try {
                header(out);
                int start = data.position();
                crc.update(data);
                size += data.position() - start;
                data.position(start);
                deflater.setInput(data);
                while (!deflater.needsInput()) {
                    if (!out.hasRemaining()) {
                        drain(out, sink);
                    }
                    deflater.deflate(out, Deflater.NO_FLUSH);
                }
                deflater.setInput(NO_INPUT);
                drain(out, sink);
            } finally {
                out.clear();
            }
        }

        @Override
        public void finish(FragmentSink sink) throws IOException {
            ByteBuffer out = OUT.get();
            try {
                header(out);
                deflater.finish();
                while (!deflater.finished()) {
                    if (!out.hasRemaining()) {
                        drain(out, sink);
                    }
                    deflater.deflate(out, Deflater.NO_FLUSH);
                }
                if (out.remaining() < 8) {
                    drain(out, sink);
                }
                out.putInt((int) crc.getValue()).putInt((int) size);
                drain(out, sink);
            } finally {
                out.clear();
                deflater.end();
            }
            sink.record(ByteBuffer.wrap(new byte[] {DONE}));
        }

        private void header(ByteBuffer out) {
            if (headerWritten) {
                return;
            }
            // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=Unix
            byte xfl = (byte) (level == 9 ? 2 : level == 1 ? 4 : 0);
            out.put(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3});
            headerWritten = true;
        }

        private static void drain(ByteBuffer out, FragmentSink sink) throws IOException {
            out.flip();
            if (out.hasRemaining()) {
                sink.output(out);
            }
            out.clear();
        }
    }
}
