package io.ringbatch.operation;

/**
 * Names of the outputs made per input file ({@code gzip}, {@code csv-to-jsonl}): the input's byte
 * string with a suffix. Linux refuses a name component longer than 255 bytes (NAME_MAX, ENAMETOOLONG)
 * whatever the file system, and an input name may already have 255, so such an input has no output
 * name: the pipeline leaves it out and says why ({@link Operation#refusal}).
 */
final class OutputNames {
    /** Bytes of one name component at most (NAME_MAX of {@code <linux/limits.h>}). */
    static final int NAME_MAX = 255;

    private OutputNames() {
    }

    /** Bytes of the last component of a '/'-separated byte string. */
    static int lastComponentLength(String path) {
        return path.length() - (path.lastIndexOf('/') + 1);
    }

    /**
     * Why {@code output} cannot name the output of {@code input}, or null when it can. ASCII only: the
     * pipeline lists it after the input's name (a byte string), and the report shows both.
     */
    static String refusal(String input, String output) {
        int length = lastComponentLength(output);
        if (length <= NAME_MAX) {
            return null;
        }
        return "not processed: its output's name would be " + length + " bytes long, and a file name has at most "
                + NAME_MAX;
    }
}
