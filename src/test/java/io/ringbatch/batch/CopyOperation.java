package io.ringbatch.batch;

import io.ringbatch.io.FileNames;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.InvalidParameterException;
import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.ParameterSpec;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.context.annotation.Bean;

/**
 * A test operation that copies every input file through the pipeline: each piece writes the bytes it
 * is given to its own output, the merge concatenates a file's pieces. The copy equals the input only if
 * the pipeline hands every byte to exactly one piece, in order, across ranges, carried lines, chunks,
 * commits and restarts. With {@code split=LINES} it also checks that each call holds whole lines.
 * {@code failAfter} makes the n-th call of the whole JVM fail once, to test restarts.
 */
public class CopyOperation implements Operation {
    static final AtomicInteger CALLS = new AtomicInteger();
    static volatile int failAt = -1;
    static volatile long delayMillis;

    private final String name;
    private final Split split;

    CopyOperation(String name, Split split) {
        this.name = name;
        this.split = split;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return "copies the input (test)";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return List.of();
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        if (params != null && !params.isEmpty()) {
            throw new InvalidParameterException(params.keySet().iterator().next(), "copy takes no parameters");
        }
        return Map.of();
    }

    @Override
    public Split split() {
        return split;
    }

    @Override
    public boolean resumableMidPiece() {
        return split == Split.LINES;
    }

    @Override
    public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) {
        return new PieceProcessor() {
            long seen = resume == null ? 0 : (Long) resume;

            @Override
            public void process(ByteBuffer data, FragmentSink out) throws IOException {
                if (delayMillis > 0) {
                    try {
                        Thread.sleep(delayMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (CALLS.incrementAndGet() == failAt) {
                    throw new IOException("copy: the failure the test asked for");
                }
                // with LINES a call may end without a newline only at its file's end: record where it did
                if (split == Split.LINES && data.hasRemaining() && data.get(data.limit() - 1) != '\n') {
                    out.record(ByteBuffer.wrap(("unterminated " + piece.index()).getBytes()));
                }
                seen += data.remaining();
                out.output(data);
            }

            @Override
            public void finish(FragmentSink out) throws IOException {
                out.record(ByteBuffer.allocate(8).putLong(0, seen));
            }

            @Override
            public Serializable checkpoint() {
                return split == Split.LINES ? seen : null;
            }
        };
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        List<String> unterminated = new ArrayList<>();
        in.forEachRecord((piece, bytes) -> {
            if (bytes.remaining() != 8) {
                unterminated.add(FileNames.display(piece.path()) + "@" + piece.start());
            }
        });
        for (Piece piece : in.pieces()) {
            // the tests' names are UTF-8, which the display form keeps as it is
            Path target = in.staging().resolve(FileNames.display(piece.path()));
            Files.createDirectories(target.getParent());
            Path part = in.pieceOutput(piece.index());
            try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                if (Files.exists(part)) {
                    try (FileChannel src = FileChannel.open(part)) {
                        src.transferTo(0, src.size(), out);
                    }
                }
            }
        }
        Files.write(in.staging().resolve("unterminated.txt"), String.join("\n", unterminated).getBytes());
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return inputPaths;
    }

    /**
     * The three copying operations ({@code copy-whole}, {@code copy-bytes}, {@code copy-lines}) in a test's
     * application: {@code @Import(CopyOperation.Config.class)}. Not annotated, so that component scanning
     * never finds it.
     */
    public static class Config {
        @Bean
        Operation copyWhole() {
            return new CopyOperation("copy-whole", Operation.Split.WHOLE);
        }

        @Bean
        Operation copyBytes() {
            return new CopyOperation("copy-bytes", Operation.Split.BYTES);
        }

        @Bean
        Operation copyLines() {
            return new CopyOperation("copy-lines", Operation.Split.LINES);
        }
    }
}
