package dev.chorus.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Llama2cTokenizerTest {

    private static Llama2cTokenizer tokenizer;

    static Path tok512() {
        return HfTokenizerTest.sharedModel("stories260K/tok512.bin");
    }

    @BeforeAll
    static void load() {
        tokenizer = Llama2cTokenizer.load(tok512(), 512);
    }

    @Test
    void readsVocabAndSpecialIds() {
        assertEquals(512, tokenizer.vocabSize());
        assertEquals(1, tokenizer.bosId());
        assertEquals(2, tokenizer.eosId());
        assertEquals("\n<s>\n", tokenizer.piece(1));
        assertEquals("<0xE6>", tokenizer.piece(0xE6 + 3));
        assertEquals(" the", tokenizer.piece(265));
        assertEquals(-6.0f, tokenizer.score(265));
    }

    @Test
    void encodesEmptyTextAsBosOnly() {
        assertArrayEquals(new int[] {1}, tokenizer.encode(""));
    }

    @Test
    void encodesPromptsLikeRunC() {
        // Expected ids computed by an independent re-implementation of run.c's encode.
        assertArrayEquals(new int[] {1, 326, 381, 261, 352, 266, 268, 388}, tokenizer.encode("Tim had a red ball"));
        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, tokenizer.encode("Once upon a time"));
        // "é" is a piece (485); "ü" and "日本" fall back to byte tokens (byte + 3)
        assertArrayEquals(new int[] {1, 280, 412, 431, 485, 410, 198, 191, 410, 233, 154, 168, 233, 159, 175},
                tokenizer.encode("café ü 日本"));
    }

    @Test
    void roundTripsText() {
        for (String text : new String[] {"Tim had a red ball", "café ü 日本", "  two leading spaces",
            "line one\nline two", "emoji 🙂 and tab\t!", "x"}) {
            assertEquals(text, tokenizer.decode(tokenizer.encode(text)), text);
        }
    }

    @Test
    void decodeStripsTheSpaceRightAfterBosOnly() {
        assertEquals("the the", tokenizer.decode(new int[] {1, 265, 265}));
        assertEquals(" the the", tokenizer.decode(new int[] {265, 265}));
        assertEquals(" athe", tokenizer.decode(new int[] {261, 1, 265, 2}));
        assertEquals(" ", tokenizer.decode(new int[] {1, 410, 410})); // only one space is stripped
        assertEquals("", tokenizer.decode(new int[] {1, 2}));
    }

    @Test
    void decodeTurnsBytePiecesIntoRawBytes() {
        assertEquals("日", tokenizer.decode(new int[] {233, 154, 168}));
        assertEquals("\uFFFD", tokenizer.decode(new int[] {233, 154})); // incomplete character
        assertEquals("<unk>", tokenizer.decode(new int[] {0}));
    }

    @Test
    void decodeRejectsIdsOutsideVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {512}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
    }

    @Test
    void mergesHighestScoringPairFirst(@TempDir Path dir) throws IOException {
        Llama2cTokenizer t = Llama2cTokenizer.load(writeVocab(dir,
                piece("<unk>", 0), piece("\n<s>\n", 0), piece("\n</s>\n", 0),              // 0-2
                piece(" ", 0), piece("a", 0), piece("b", 0), piece("c", 0),                 // 3-6
                piece("ab", 1), piece("bc", 2),                                             // 7-8
                piece("x", 0), piece("y", 0), piece("z", 0), piece("xy", 1), piece("yz", 1), // 9-13
                piece(" q", -5), piece("q", 0), piece("abab", 0.1f), piece("zz", -2e10f)), 18); // 14-17
        // bc (2) beats ab (1) although ab comes first; left-to-right merging would give ab, c
        assertArrayEquals(new int[] {1, 3, 4, 8}, t.encode("abc"));
        // equal scores: the leftmost pair wins, and then yz is gone
        assertArrayEquals(new int[] {1, 3, 12, 11}, t.encode("xyz"));
        // merges repeat until none applies: ab|a|b -> ab|ab -> abab
        assertArrayEquals(new int[] {1, 3, 16}, t.encode("abab"));
        // the dummy-prefix space merges like any other piece
        assertArrayEquals(new int[] {1, 14}, t.encode("q"));
        assertEquals("q", t.decode(new int[] {1, 14}));
        // run.c's search starts at -1e10, so lower-scored pieces never merge
        assertArrayEquals(new int[] {1, 3, 11, 11}, t.encode("zz"));
        // no byte pieces in this vocab: bytes without a piece become <unk> (id 0)
        assertArrayEquals(new int[] {1, 3, 0, 0}, t.encode("é"));
    }

    @Test
    void missingFileIsAFormatError(@TempDir Path dir) {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama2cTokenizer.load(dir.resolve("tokenizer.bin"), 512));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void truncatedFileIsAFormatError(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(tok512());
        Path cut = Files.write(dir.resolve("cut.bin"), Arrays.copyOf(full, full.length - 1));
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama2cTokenizer.load(cut, 512));
        assertTrue(e.getMessage().contains("truncated inside token 511"), e.getMessage());

        Path header = Files.write(dir.resolve("header.bin"), new byte[] {7, 0});
        e = assertThrows(TokenizerException.class, () -> Llama2cTokenizer.load(header, 512));
        assertTrue(e.getMessage().contains("max_token_length"), e.getMessage());
    }

    @Test
    void vocabSizeMismatchIsAFormatError() {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama2cTokenizer.load(tok512(), 500));
        assertTrue(e.getMessage().contains("bytes after 500 tokens"), e.getMessage());
        e = assertThrows(TokenizerException.class, () -> Llama2cTokenizer.load(tok512(), 513));
        assertTrue(e.getMessage().contains("truncated at token 512"), e.getMessage());
    }

    @Test
    void impossibleTokenLengthIsAFormatError(@TempDir Path dir) throws IOException {
        Path file = writeVocab(dir, piece("<unk>", 0), piece("\n<s>\n", 0), piece("\n</s>\n", 0));
        byte[] data = Files.readAllBytes(file);
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putInt(4 + 4, -3); // token 0's length
        Files.write(file, data);
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> Llama2cTokenizer.load(file, 3));
        assertTrue(e.getMessage().contains("token 0 has length -3"), e.getMessage());
    }

    private record Piece(String text, float score) {}

    private static Piece piece(String text, float score) {
        return new Piece(text, score);
    }

    /** Writes a tokenizer.bin with the given pieces, max_token_length = the longest piece. */
    private static Path writeVocab(Path dir, Piece... pieces) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int max = Arrays.stream(pieces).mapToInt(p -> p.text.getBytes(StandardCharsets.UTF_8).length).max().orElse(1);
        out.write(le(max));
        for (Piece p : pieces) {
            byte[] bytes = p.text.getBytes(StandardCharsets.UTF_8);
            out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(p.score).array());
            out.write(le(bytes.length));
            out.write(bytes);
        }
        return Files.write(dir.resolve("tokenizer.bin"), out.toByteArray());
    }

    private static byte[] le(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }
}
