package dev.chorus.engine.tokenizer;

/**
 * Text to token ids and back, for one model's vocabulary.
 *
 * <p>Both supported formats (HF {@code tokenizer.json}, llama2.c {@code tokenizer.bin}) start every
 * prompt with BOS, so {@link #encode} always returns it first. {@link #decode} is a pure function of
 * its argument: decoding any sub-array gives that slice's text under the format's rules, which is
 * what {@link StreamingDetokenizer} relies on.
 */
public interface Tokenizer extends AutoCloseable {

    /** The prompt's ids, starting with {@link #bosId()}; {@code encode("")} is just {@code [bos]}. */
    int[] encode(String text);

    /**
     * The text of a token sequence. BOS and EOS produce no text; bytes that do not form a complete
     * UTF-8 character come out as U+FFFD.
     *
     * @throws IllegalArgumentException if an id is outside {@code [0, vocabSize())}
     */
    String decode(int[] ids);

    int vocabSize();

    /**
     * The most characters one token's text can hold: a text longer than this many characters per
     * token of budget cannot fit the budget, which callers check before paying for {@link #encode}.
     * Decodes every id once; cache the result.
     */
    default int longestTokenChars() {
        int longest = 1;
        for (int id = 0; id < vocabSize(); id++) {
            if (id != bosId() && id != eosId()) {
                longest = Math.max(longest, decode(new int[] {id}).length());
            }
        }
        return longest;
    }

    int bosId();

    int eosId();

    /** Releases native resources, if any; idempotent and never throws. */
    @Override
    void close();
}
