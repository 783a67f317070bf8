package io.ringbatch.operation;

import io.ringbatch.io.Dir;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * One kind of job ("checksum", "grep", ...). Implementations are Spring beans; the pipeline finds them
 * by {@link #name()}. An operation turns the bytes of each <em>piece</em> (a whole file, or a byte
 * range of a large file where {@link #split()} allows it) into fragments, and at the end merges the
 * fragments of all pieces, in piece order, into its output files.
 * <p>
 * The contract with the pipeline:
 * <ul>
 * <li>{@link #validate} runs at submission and refuses bad parameters with the field and the reason;
 * the normalised map it returns is what {@link #open} later receives (strings only, so that it can be
 * stored as job state).</li>
 * <li>A {@link PieceProcessor} sees its piece's bytes in file order. With {@link Split#LINES} each call
 * holds whole lines only (a line ends with {@code \n}; a piece's last line may lack it); otherwise
 * bytes are cut anywhere.</li>
 * <li>A range of a split file owns every line that <em>starts</em> inside it (Hadoop's rule), so line
 * numbers inside a piece count from 1 and the merge adds the lines of the file's earlier pieces.</li>
 * <li>{@link #merge} runs once all pieces are processed, may run again after a crash (it must only
 * write into {@code MergeInput.staging()}), and must produce output byte-identical to the reference
 * tool named in docs/operations.md.</li>
 * </ul>
 */
public interface Operation {

    /** How an input file may be cut into pieces. */
    enum Split {
        /** Never: a piece is always a whole file (e.g. a SHA-256 over the file). */
        WHOLE,
        /** At line boundaries: a range owns the lines that start in it. */
        LINES,
        /** Anywhere: each range is processed on its own and the outputs are concatenated. */
        BYTES
    }

    String name();

    String description();

    List<ParameterSpec> parameters();

    /**
     * Checks the submitted parameters and returns them normalised, defaults filled in.
     *
     * @throws InvalidParameterException naming the parameter and the reason
     */
    Map<String, String> validate(Map<String, Object> params);

    Split split();

    /**
     * Whether the work per byte is far above the read's (gzip: about 25 MB/s a core, where a read gives
     * GB/s), so that each partition of a job runs for seconds. The plan then cuts partitions that shrink
     * with the work left (guided), so that the last ones handed out are small and no worker sits idle for
     * long while another ends a large one; the extra partitions cost a step execution each (milliseconds),
     * which such a job does not notice and a fast one would (see the Planner).
     */
    default boolean slowPerByte() {
        return false;
    }

    /**
     * Whether a piece's processing can resume in the middle after a restart, from the state of
     * {@link PieceProcessor#checkpoint()}; if not, a piece cut short by a crash is processed again
     * from its start and its earlier fragments are discarded.
     */
    boolean resumableMidPiece();

    /**
     * A processor for one piece.
     *
     * @param params  what {@link #validate} returned
     * @param piece   which file and range
     * @param resume  a checkpoint this piece's processor made before a restart, or null
     */
    PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) throws IOException;

    /** Writes the outputs into {@code in.staging()}; the pipeline then moves them into place. */
    void merge(Map<String, String> params, MergeInput in) throws IOException;

    /**
     * The output file names a job of this operation produces for these inputs, for the API: byte strings
     * (see {@code FileNames}), like the inputs' paths. An input with a {@link #refusal} has none.
     */
    List<String> outputNames(Map<String, String> params, List<String> inputPaths);

    /**
     * Why this operation cannot process the input at {@code path} (a byte string), or null when it can:
     * for instance, its output's name would pass the 255 bytes Linux allows a name. The pipeline then
     * leaves the file out, lists it as not processed with this reason in {@code job-report.json}, and
     * goes on with the others.
     *
     * @param allPaths every input path of the job (an output's name may depend on the others')
     */
    default String refusal(Map<String, String> params, String path, List<String> allPaths) {
        return null;
    }

    /**
     * A file or a byte range of one, as the plan cut it. {@code path} is relative to the input root and a
     * byte string (one char per byte of the name, see {@code FileNames}): outputs write its bytes with
     * {@code FileNames.raw}, never through a charset.
     */
    record Piece(int index, int fileIndex, String path, Dir root, long start, long end, long fileSize) {
        public boolean wholeFile() {
            return start == 0 && end == fileSize;
        }
    }
}
