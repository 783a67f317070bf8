package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.SerializationContext;
import tools.jackson.databind.ValueDeserializer;
import tools.jackson.databind.ValueSerializer;

/**
 * {@code plan.json}, written and read as a stream: a plan of a million files is never a million
 * objects, nor its JSON one array of a hundred megabytes. The format is the one plans have always had
 * (the JSON of a record of lists of records), so a plan written before this class existed, by a job
 * still running across an upgrade, reads the same:
 *
 * <pre>
 * {"inputRoot": "...", "plannedBy": "..." | null,
 *  "files": [{"path": "...", "size": n, "mtimeNanos": n, "inode": n, "device": n}, ...],
 *  "pieces": [{"file": n, "start": n, "end": n}, ...],
 *  "partitions": [{"firstPiece": n, "endPiece": n, "bytes": n}, ...]}
 * </pre>
 *
 * Fields may come in any order; unknown ones are skipped. Paths are byte strings (each char one byte).
 * The file goes by descriptor beneath the job's work directory: to a temporary name, forced, renamed.
 */
public final class PlanFile {
    static final String NAME = "plan.json";

    private PlanFile() {
    }

    /** Writes the job's plan: to a temporary name, forced to disk, then renamed over {@code plan.json}. */
    public static void write(JobFiles files, Plan plan) throws IOException {
        String tmp = NAME + ".tmp";
        try (Dir work = files.open()) {
            int fd = work.openFd(tmp, Dir.O_WRONLY | Dir.O_CREAT | Dir.O_TRUNC, JobFiles.FILE_MODE);
            try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.WRITE)) {
                OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                try (JsonGenerator gen = JobFiles.JSON.createGenerator(out)) {
                    write(plan, gen);
                    gen.flush(); // through the buffer to the file; closing it would close the channel
                    ch.force(true);
                } catch (JacksonException e) {
                    throw new IOException("cannot write " + NAME + ": " + e.getOriginalMessage(), e);
                }
            } finally {
                Dir.closeFd(fd);
            }
            work.rename(tmp, work, NAME);
        }
    }

    /** Reads the job's plan. */
    public static Plan read(JobFiles files) throws IOException {
        try (Dir work = files.open()) {
            int fd = work.openFd(NAME, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
            try {
                if (!Dir.stat(fd, NAME).isRegular()) {
                    throw new IOException(NAME + " is not a regular file");
                }
                try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.READ);
                     InputStream in = new BufferedInputStream(Channels.newInputStream(ch), 1 << 16);
                     JsonParser p = JobFiles.JSON.createParser(in)) {
                    p.nextToken();
                    return read(p);
                } catch (JacksonException e) {
                    throw new IOException("cannot read " + NAME + ": " + e.getOriginalMessage(), e);
                }
            } finally {
                Dir.closeFd(fd);
            }
        }
    }

    static void write(Plan plan, JsonGenerator g) {
        g.writeStartObject();
        g.writeName("inputRoot");
        g.writeString(plan.inputRoot());
        g.writeName("plannedBy");
        if (plan.plannedBy() == null) {
            g.writeNull();
        } else {
            g.writeString(plan.plannedBy());
        }
        g.writeName("files");
        g.writeStartArray();
        for (Plan.FileEntry f : plan.files()) {
            g.writeStartObject();
            g.writeName("path");
            g.writeString(f.path());
            number(g, "size", f.size());
            number(g, "mtimeNanos", f.mtimeNanos());
            number(g, "inode", f.inode());
            number(g, "device", f.device());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeName("pieces");
        g.writeStartArray();
        for (Plan.PieceEntry p : plan.pieces()) {
            g.writeStartObject();
            number(g, "file", p.file());
            number(g, "start", p.start());
            number(g, "end", p.end());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeName("partitions");
        g.writeStartArray();
        for (Plan.PartitionEntry p : plan.partitions()) {
            g.writeStartObject();
            number(g, "firstPiece", p.firstPiece());
            number(g, "endPiece", p.endPiece());
            number(g, "bytes", p.bytes());
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void number(JsonGenerator g, String name, long value) {
        g.writeName(name);
        g.writeNumber(value);
    }

    /** Reads a plan from the parser, positioned at its START_OBJECT; leaves it at the END_OBJECT. */
    static Plan read(JsonParser p) throws IOException {
        expect(p, p.currentToken(), JsonToken.START_OBJECT, "a plan");
        String inputRoot = null;
        String plannedBy = null;
        Plan.Files files = new Plan.Files();
        Plan.Pieces pieces = new Plan.Pieces();
        List<Plan.PartitionEntry> partitions = new ArrayList<>();
        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            switch (field) {
                case "inputRoot" -> inputRoot = value == JsonToken.VALUE_NULL ? null : p.getString();
                case "plannedBy" -> plannedBy = value == JsonToken.VALUE_NULL ? null : p.getString();
                case "files" -> {
                    expect(p, value, JsonToken.START_ARRAY, "files");
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        String path = null;
                        // size, mtime (ns), inode, device; no inode: a plan.json of a release before inodes
                        // were recorded, whose mtimeMillis is compared to the millisecond (InputFile.Expected)
                        long[] n = {0, 0, -1, 0};
                        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                            String name = p.currentName();
                            p.nextToken();
                            switch (name) {
                                case "path" -> path = p.getString();
                                case "size" -> n[0] = p.getLongValue();
                                case "mtimeNanos" -> n[1] = p.getLongValue();
                                case "mtimeMillis" -> n[1] = Math.multiplyExact(p.getLongValue(), 1_000_000L);
                                case "inode" -> n[2] = p.getLongValue();
                                case "device" -> n[3] = p.getLongValue();
                                default -> p.skipChildren();
                            }
                        }
                        if (path == null) {
                            throw new IOException(NAME + ": a file without a path");
                        }
                        files.add(path.getBytes(StandardCharsets.ISO_8859_1), n[0], n[1], n[2], n[3]);
                    }
                }
                case "pieces" -> {
                    expect(p, value, JsonToken.START_ARRAY, "pieces");
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        long[] n = new long[3];
                        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                            String name = p.currentName();
                            p.nextToken();
                            switch (name) {
                                case "file" -> n[0] = p.getIntValue();
                                case "start" -> n[1] = p.getLongValue();
                                case "end" -> n[2] = p.getLongValue();
                                default -> p.skipChildren();
                            }
                        }
                        pieces.add((int) n[0], n[1], n[2]);
                    }
                }
                case "partitions" -> {
                    expect(p, value, JsonToken.START_ARRAY, "partitions");
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        long[] n = new long[3];
                        while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                            String name = p.currentName();
                            p.nextToken();
                            switch (name) {
                                case "firstPiece" -> n[0] = p.getIntValue();
                                case "endPiece" -> n[1] = p.getIntValue();
                                case "bytes" -> n[2] = p.getLongValue();
                                default -> p.skipChildren();
                            }
                        }
                        partitions.add(new Plan.PartitionEntry((int) n[0], (int) n[1], n[2]));
                    }
                }
                default -> p.skipChildren();
            }
        }
        for (int i = 0; i < pieces.size(); i++) {
            if (pieces.file(i) < 0 || pieces.file(i) >= files.size()) {
                throw new IOException(NAME + ": piece " + i + " names file " + pieces.file(i) + " of "
                        + files.size());
            }
        }
        return new Plan(inputRoot, plannedBy, files, pieces, partitions);
    }

    private static void expect(JsonParser p, JsonToken got, JsonToken want, String what) throws IOException {
        if (got != want) {
            throw new IOException(NAME + ": " + what + " should start with " + want + ", not " + got + " (at "
                    + p.currentLocation() + ")");
        }
    }

    /** Lets a plain {@code ObjectMapper} write a plan (as {@link #write(Plan, JsonGenerator)} does). */
    public static final class Serializer extends ValueSerializer<Plan> {
        @Override
        public void serialize(Plan plan, JsonGenerator g, SerializationContext ctxt) {
            write(plan, g);
        }
    }

    /** Lets a plain {@code ObjectMapper} read a plan (as {@link #read(JsonParser)} does). */
    public static final class Deserializer extends ValueDeserializer<Plan> {
        @Override
        public Plan deserialize(JsonParser p, DeserializationContext ctxt) {
            try {
                return read(p);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }
}
