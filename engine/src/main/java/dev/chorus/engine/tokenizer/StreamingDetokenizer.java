package dev.chorus.engine.tokenizer;

import java.util.Arrays;
import java.util.Objects;

/**
 * Turns generated tokens into text chunks as they arrive, never emitting half a UTF-8 character and
 * keeping the spacing that decoding the whole sequence would give.
 *
 * <p>Decoding tokens one at a time is wrong twice over: a character split across byte-fallback
 * tokens decodes to U+FFFD pieces, and decoders that strip the leading space of the decoded string
 * would eat the space before every word. So this keeps all ids and two offsets: {@code read} (text
 * up to here has been emitted) and {@code prefix} (a few tokens before {@code read} decoded as
 * context). Each step decodes {@code [prefix, read)} and {@code [prefix, end)}; both start at the
 * same token, so start-of-string effects cancel out and the difference is the new text. While the
 * new text ends with U+FFFD the character is incomplete and nothing is emitted yet.
 *
 * <p>Concatenating every {@link #push} result and the final {@link #flush} gives
 * {@code decode(prompt + generated)} minus {@code decode(prompt)}. Not thread-safe: one per sequence.
 */
public final class StreamingDetokenizer {

    /** Prompt tokens decoded as context for the first generated token. */
    private static final int INITIAL_CONTEXT_TOKENS = 5;
    /** Bound on how far back the context window may be widened (see {@link #contextText}). */
    private static final int MAX_CONTEXT_TOKENS = 16;
    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private int[] ids;
    private int size;
    private int prefixOffset;
    private int readOffset;
    /** decode([prefixOffset, readOffset)), cached because it only changes when the offsets move. */
    private String prefixText;

    public StreamingDetokenizer(Tokenizer tokenizer, int[] promptIds) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        Objects.requireNonNull(promptIds, "promptIds");
        this.ids = Arrays.copyOf(promptIds, Math.max(16, promptIds.length * 2));
        this.size = promptIds.length;
        this.readOffset = size;
        this.prefixOffset = Math.max(0, size - INITIAL_CONTEXT_TOKENS);
    }

    /** Adds a generated token; returns the text that became printable (possibly empty). */
    public String push(int tokenId) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = tokenId;
        String before = contextText();
        String after = decode(prefixOffset, size);
        // A trailing U+FFFD is (almost always) a character whose remaining bytes are still to come.
        if (after.length() <= before.length() || after.charAt(after.length() - 1) == REPLACEMENT) {
            return "";
        }
        return advance(before, after);
    }

    /** Returns whatever is still held back (an incomplete character comes out as U+FFFD). */
    public String flush() {
        if (readOffset == size) {
            return "";
        }
        String before = contextText();
        String after = decode(prefixOffset, size);
        return after.length() <= before.length() ? "" : advance(before, after);
    }

    private String advance(String before, String after) {
        String text = after.substring(before.length());
        prefixOffset = readOffset;
        readOffset = size;
        prefixText = null;
        return text;
    }

    /**
     * decode([prefix, read)), widening the window backwards while it decodes to nothing (only
     * BOS/EOS, whose absence would let a decoder strip the next word's space) or starts with U+FFFD
     * (the window would begin inside a multi-byte character).
     */
    private String contextText() {
        if (prefixText == null) {
            String text = decode(prefixOffset, readOffset);
            while ((text.isEmpty() || text.charAt(0) == REPLACEMENT)
                    && prefixOffset > 0 && readOffset - prefixOffset < MAX_CONTEXT_TOKENS) {
                prefixOffset--;
                text = decode(prefixOffset, readOffset);
            }
            prefixText = text;
        }
        return prefixText;
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to));
    }
}
