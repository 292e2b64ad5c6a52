package dev.chorus.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {

    // Reference data from shared/models/README.md (TinyStories-656K).
    static final int[] BOS_PROMPT = {1};
    static final int[] BOS_GENERATED = {147, 201, 282, 215, 286, 598, 1662, 356, 499, 826, 1363, 1145, 1652, 615,
        242, 1482, 951, 628, 499, 826, 872, 921, 318, 385, 628, 499, 826, 617, 242, 198, 1047, 425, 1939, 122, 1924,
        1171, 94, 303, 328, 229, 521, 776, 115, 1139, 312, 447, 1456, 319, 115, 133, 114, 100, 167, 753, 1665, 361,
        303, 1900, 319, 467, 730, 717, 532, 856};
    static final String BOS_TEXT = "Once upon a time, there was a little girl named Lily. She had a toy car that she"
            + " loved very much. One day, she went to the park to play with her toy car in the park. Lily was very"
            + " happy with her toy car because she had no one to play with.\nWhile playing, Lily saw a little bird."
            + " The bird was stuck in a tree. The bird was lost and it could not fly. Lily wanted to help the bird"
            + " find its way home. She ";
    static final String TOM_PROMPT_TEXT = "Tom found a shiny key";
    static final int[] TOM_PROMPT = {1, 80, 388, 489, 1169, 432, 77};
    static final int[] TOM_GENERATED = {891, 1607, 140, 645, 407, 350, 119, 1512, 594, 1846, 87, 196, 793, 1417,
        140, 645, 407, 350, 119, 1512, 594, 1846, 87, 196, 793, 1613, 645, 407, 350, 1826, 645, 1506, 108, 500, 72,
        140, 1777, 252, 1777, 192, 1379, 559, 1057, 1684, 1846, 87, 196, 793, 660, 1097, 140, 645, 731, 231, 292,
        835, 612, 748, 753, 407, 350, 119, 1613, 1097};
    static final String TOM_TEXT = ". He wanted to play with it. He tried to reach it, but it was too heavy for"
            + " himself. He tried to reach it, but it was too heavy for him.\nTom tried to reach it. He tried to push"
            + " the knot. He pulled and pulled, but the stight was too heavy for him. Tom was sad. He tried to get his"
            + " tail back, but he could not reach it.\nTom was sad";

    private static HfTokenizer tokenizer;

    static Path sharedModel(String relative) {
        return Path.of(System.getProperty("test.shared.dir", "../shared")).resolve("models").resolve(relative);
    }

    static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    @BeforeAll
    static void load() {
        tokenizer = HfTokenizer.load(sharedModel("TinyStories-656K/tokenizer.json"));
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void readsVocabSizeAndSpecialIds() {
        assertEquals(2048, tokenizer.vocabSize());
        assertEquals(1, tokenizer.bosId());
        assertEquals(2, tokenizer.eosId());
    }

    @Test
    void encodesEmptyTextAsBosOnly() {
        assertArrayEquals(new int[] {1}, tokenizer.encode(""));
    }

    @Test
    void encodesReferencePrompt() {
        assertArrayEquals(TOM_PROMPT, tokenizer.encode(TOM_PROMPT_TEXT));
    }

    @Test
    void encodesLongTextWithoutTruncation() {
        String text = "The cat sat on the mat. ".repeat(200);
        int[] ids = tokenizer.encode(text);
        assertTrue(ids.length > 600, "DJL's default 512-token truncation must be off, got " + ids.length);
        assertEquals(text.strip(), tokenizer.decode(ids).strip());
    }

    @Test
    void decodesReferenceGenerationAfterBos() {
        assertEquals(BOS_TEXT, tokenizer.decode(concat(BOS_PROMPT, BOS_GENERATED)));
    }

    @Test
    void decodesReferenceGenerationAfterPrompt() {
        assertEquals(TOM_PROMPT_TEXT, tokenizer.decode(TOM_PROMPT));
        assertEquals(TOM_PROMPT_TEXT + TOM_TEXT, tokenizer.decode(concat(TOM_PROMPT, TOM_GENERATED)));
    }

    @Test
    void decodeDropsSpecialTokensAndStripsOneLeadingSpaceOfTheWholeString() {
        // 147 "On", 201 "ce▁", 80 "▁"
        assertEquals("Once ", tokenizer.decode(new int[] {1, 147, 201, 2}));
        assertEquals("Once ", tokenizer.decode(new int[] {147, 201}));
        assertEquals("", tokenizer.decode(new int[] {80}));
        assertEquals("On", tokenizer.decode(new int[] {80, 147}));
        assertEquals(" On", tokenizer.decode(new int[] {80, 80, 147}));
        assertEquals("", tokenizer.decode(new int[0]));
    }

    @Test
    void decodeRejectsIdsOutsideVocabulary() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {1, 2048}));
        assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {-1}));
    }

    @Test
    void missingFileIsAFormatError(@TempDir Path dir) {
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> HfTokenizer.load(dir.resolve("tokenizer.json")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void malformedJsonIsAFormatError(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"vocab\": ");
        TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void jsonThatTheNativeLibraryRejectsIsAFormatError(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"<s>\": 0, \"</s>\": 1}}}");
        TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().startsWith("cannot load tokenizer"), e.getMessage());
    }

    @Test
    void fallsBackToSentencepieceTokenNames(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), minimalTokenizerJson());
        try (HfTokenizer t = HfTokenizer.load(file)) {
            assertEquals(5, t.vocabSize());
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
            // no post-processor in this file: BOS is still prepended
            assertArrayEquals(new int[] {1, 3, 4}, t.encode("ab"));
            // without a decoder, the tokenizers library joins tokens with spaces
            assertEquals("a b", t.decode(new int[] {1, 3, 4, 2}));
        }
    }

    @Test
    void readsSpecialTokenNamesFromTokenizerConfig(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), minimalTokenizerJson());
        // config.json without ids, so the names in tokenizer_config.json decide (object and string forms)
        Files.writeString(dir.resolve("config.json"), "{\"vocab_size\": 5}");
        Files.writeString(dir.resolve("tokenizer_config.json"),
                "{\"bos_token\": {\"content\": \"b\"}, \"eos_token\": \"a\"}");
        try (HfTokenizer t = HfTokenizer.load(file)) {
            assertEquals(4, t.bosId());
            assertEquals(3, t.eosId());
        }
    }

    @Test
    void configIdsTakePrecedenceAndAreRangeChecked(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), minimalTokenizerJson());
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 3, \"eos_token_id\": [4, 2]}");
        try (HfTokenizer t = HfTokenizer.load(file)) {
            assertEquals(3, t.bosId());
            assertEquals(4, t.eosId());
        }
        Files.writeString(dir.resolve("config.json"), "{\"bos_token_id\": 7, \"eos_token_id\": 2}");
        TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains("BOS token id 7"), e.getMessage());
    }

    @Test
    void missingSpecialTokensAreAFormatError(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"),
                minimalTokenizerJson().replace("\"<s>\"", "\"<start>\""));
        TokenizerException e = assertThrows(TokenizerException.class, () -> HfTokenizer.load(file));
        assertTrue(e.getMessage().contains("cannot determine the BOS token id"), e.getMessage());
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseFails() {
        HfTokenizer t = HfTokenizer.load(sharedModel("TinyStories-656K/tokenizer.json"));
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, () -> t.encode("x"));
        assertThrows(IllegalStateException.class, () -> t.decode(new int[] {3}));
    }

    /** A BPE with single-character tokens and no normalizer, post-processor or decoder. */
    private static String minimalTokenizerJson() {
        return """
                {"version": "1.0",
                 "added_tokens": [
                   {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true},
                   {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true},
                   {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null,
                 "model": {"type": "BPE", "unk_token": "<unk>",
                           "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "a": 3, "b": 4}, "merges": []}}
                """;
    }
}
