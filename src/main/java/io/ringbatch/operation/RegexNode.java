package io.ringbatch.operation;

import java.util.List;

/**
 * A parsed regex over bytes, as {@link RegexParser} reads Java's syntax: what the byte automaton
 * ({@link Nfa}) and the required literals ({@link RequiredLiterals}) are both built from, so that the two
 * can never disagree about the grammar. Zero-width assertions other than {@code ^} are {@link Empty}
 * (the parser notes that it widened them).
 */
sealed interface RegexNode {

    /** One byte out of a set (256 bits). */
    record Chars(long[] set) implements RegexNode {
    }

    /** The empty string: an empty group, or an assertion widened to "always". */
    record Empty() implements RegexNode {
    }

    /** {@code ^}: a line's start. */
    record LineStart() implements RegexNode {
    }

    /** Any text, empty or not: what a backreference is widened to. */
    record AnyText() implements RegexNode {
    }

    record Concat(List<RegexNode> items) implements RegexNode {
    }

    record Alt(List<RegexNode> items) implements RegexNode {
    }

    /** {@code node{min,max}}; max -1: unbounded. */
    record Repeat(RegexNode node, int min, int max) implements RegexNode {
    }

    /** Whether the node may match the empty string. */
    static boolean nullable(RegexNode n) {
        if (n instanceof Chars) {
            return false;
        }
        if (n instanceof Concat c) {
            return c.items().stream().allMatch(RegexNode::nullable);
        }
        if (n instanceof Alt a) {
            return a.items().stream().anyMatch(RegexNode::nullable);
        }
        if (n instanceof Repeat r) {
            return r.min() == 0 || nullable(r.node());
        }
        return true; // Empty, LineStart, AnyText
    }
}
