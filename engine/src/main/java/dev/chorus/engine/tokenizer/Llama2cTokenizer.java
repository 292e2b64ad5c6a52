package dev.chorus.engine.tokenizer;


import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The llama2.c {@code tokenizer.bin} format: int32 LE max_token_length, then per token a float32
 * score, an int32 byte length and the piece's bytes. Encoding and decoding follow llama2.c's
 * {@code run.c}: sentencepiece-style BPE by greedy highest-score pair merging, byte fallback to ids
 * {@code byte + 3}, and {@code <0xXX>} pieces decoding to raw bytes.
 *
 * <p>Immutable after loading, hence safe to share between threads.
 */
public final class Llama2cTokenizer implements Tokenizer {

    private static final int UNK = 0;
    private static final int BOS = 1;
    private static final int EOS = 2;
    /** run.c maps byte b to id b + 3, right after {@code <unk>, <s>, </s>}. */
    private static final int BYTE_FALLBACK_OFFSET = 3;
    /** run.c starts its best-score search here, so pairs scoring lower never merge. */
    private static final float MIN_MERGE_SCORE = -1e10f;

    /**
     * Pieces as ISO-8859-1 strings: one char per byte, so map lookups and concatenation work on the
     * exact bytes, including pieces that are not valid UTF-8 on their own.
     */
    private final String[] pieces;
    private final float[] scores;
    /** What each token contributes to decoded bytes: the piece, or the raw byte for {@code <0xXX>}. */
    private final byte[][] decodedBytes;
    private final Map<String, Integer> idsByPiece;
    /** Id of the piece " " that run.c prepends to non-empty text; -1 if the vocab lacks it. */
    private final int dummyPrefixId;

    private Llama2cTokenizer(String[] pieces, float[] scores) {
        this.pieces = pieces;
        this.scores = scores;
        this.decodedBytes = new byte[pieces.length][];
        this.idsByPiece = new HashMap<>(pieces.length * 2);
        for (int id = 0; id < pieces.length; id++) {
            // Duplicate pieces are not expected; keep the lowest id so lookups are deterministic.
            idsByPiece.putIfAbsent(pieces[id], id);
            int rawByte = parseBytePiece(pieces[id]);
            decodedBytes[id] = rawByte >= 0
                    ? new byte[] {(byte) rawByte}
                    : pieces[id].getBytes(StandardCharsets.ISO_8859_1);
        }
        this.dummyPrefixId = idsByPiece.getOrDefault(" ", -1);
    }

    /**
     * Reads a tokenizer.bin holding exactly {@code vocabSize} tokens (the checkpoint header's vocab
     * size).
     *
     * @throws TokenizerException if the file is missing, unreadable, truncated, has trailing
     *     bytes or contains an impossible length
     */
    public static Llama2cTokenizer load(Path file, int vocabSize) {
        Objects.requireNonNull(file, "file");
        if (vocabSize <= EOS) {
            throw new TokenizerException(
                    "vocab size " + vocabSize + " is too small for a llama2.c tokenizer (needs <unk>, BOS and EOS)");
        }
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException("tokenizer file not found: " + file, e);
        } catch (IOException e) {
            throw new TokenizerException("cannot read tokenizer file " + file + ": " + e.getMessage(), e);
        }
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < Integer.BYTES) {
            throw new TokenizerException(
                    "tokenizer file " + file + " is truncated: " + data.length + " bytes, no max_token_length header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0) {
            throw new TokenizerException(
                    "tokenizer file " + file + " has invalid max_token_length " + maxTokenLength);
        }
        String[] pieces = new String[vocabSize];
        float[] scores = new float[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            if (in.remaining() < Float.BYTES + Integer.BYTES) {
                throw new TokenizerException("tokenizer file " + file + " is truncated at token " + id
                        + " of " + vocabSize + " (offset " + in.position() + ")");
            }
            scores[id] = in.getFloat();
            int length = in.getInt();
            // run.c sizes its merge buffer from max_token_length, so a longer piece is corrupt data.
            if (length < 0 || length > maxTokenLength) {
                throw new TokenizerException("tokenizer file " + file + ": token " + id + " has length "
                        + length + ", outside [0, max_token_length=" + maxTokenLength + "]");
            }
            if (in.remaining() < length) {
                throw new TokenizerException("tokenizer file " + file + " is truncated inside token " + id
                        + " (needs " + length + " bytes, " + in.remaining() + " left)");
            }
            byte[] piece = new byte[length];
            in.get(piece);
            pieces[id] = new String(piece, StandardCharsets.ISO_8859_1);
        }
        if (in.hasRemaining()) {
            // Extra data almost always means the tokenizer belongs to a model with a bigger vocab.
            throw new TokenizerException("tokenizer file " + file + " has " + in.remaining()
                    + " bytes after " + vocabSize + " tokens; does it match the checkpoint's vocab size?");
        }
        return new Llama2cTokenizer(pieces, scores);
    }

    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        List<Integer> tokens = new ArrayList<>();
        if (!text.isEmpty() && dummyPrefixId >= 0) {
            tokens.add(dummyPrefixId); // sentencepiece's add_dummy_prefix
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int start = 0;
        while (start < utf8.length) {
            // A codepoint is a non-continuation byte plus up to 3 continuation bytes (run.c's rule,
            // which also bounds runs of stray continuation bytes).
            int end = start + 1;
            while (end < utf8.length && (utf8[end] & 0xC0) == 0x80 && end - start < 4) {
                end++;
            }
            Integer id = idsByPiece.get(new String(utf8, start, end - start, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tokens.add(id);
            } else {
                for (int i = start; i < end; i++) {
                    int byteId = (utf8[i] & 0xFF) + BYTE_FALLBACK_OFFSET;
                    // A vocab without byte pieces cannot represent the byte; sentencepiece uses <unk>.
                    tokens.add(byteId < pieces.length ? byteId : UNK);
                }
            }
            start = end;
        }
        mergePairs(tokens);
        // BOS is kept out of merging so the contract "starts with BOS" holds for any vocab.
        int[] result = new int[tokens.size() + 1];
        result[0] = BOS;
        for (int i = 0; i < tokens.size(); i++) {
            result[i + 1] = tokens.get(i);
        }
        return result;
    }

    /** Repeatedly merges the adjacent pair forming the best-scoring piece; first pair wins ties. */
    private void mergePairs(List<Integer> tokens) {
        while (true) {
            float bestScore = MIN_MERGE_SCORE;
            int bestId = -1;
            int bestIndex = -1;
            for (int i = 0; i + 1 < tokens.size(); i++) {
                Integer id = idsByPiece.get(pieces[tokens.get(i)] + pieces[tokens.get(i + 1)]);
                if (id != null && scores[id] > bestScore) {
                    bestScore = scores[id];
                    bestId = id;
                    bestIndex = i;
                }
            }
            if (bestIndex < 0) {
                return;
            }
            tokens.set(bestIndex, bestId);
            tokens.remove(bestIndex + 1);
        }
    }

    @Override
    public String decode(int[] ids) {
        Objects.requireNonNull(ids, "ids");
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        int previous = -1;
        for (int id : ids) {
            checkId(id);
            if (id != BOS && id != EOS) {
                byte[] bytes = decodedBytes[id];
                // sentencepiece strips the dummy-prefix space from the first piece after BOS.
                int skip = previous == BOS && bytes.length > 0 && bytes[0] == ' ' ? 1 : 0;
                out.write(bytes, skip, bytes.length - skip);
            }
            previous = id;
        }
        // Malformed or incomplete UTF-8 becomes U+FFFD, which StreamingDetokenizer relies on.
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The raw piece of a token, its bytes read as UTF-8 (e.g. {@code " the"} or {@code "<0xE6>"}). */
    public String piece(int id) {
        checkId(id);
        return new String(pieces[id].getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    /** The merge score of a token's piece. */
    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public void close() {
        // Nothing to release: everything lives on the Java heap.
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " outside vocabulary [0, " + pieces.length + ")");
        }
    }

    /** Returns the byte of a {@code <0xXX>} piece, or -1 for any other piece. */
    private static int parseBytePiece(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int high = Character.digit(piece.charAt(3), 16);
        int low = Character.digit(piece.charAt(4), 16);
        return high < 0 || low < 0 ? -1 : high * 16 + low;
    }
}
