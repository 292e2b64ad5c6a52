package dev.chorus.engine.tokenizer;

import static dev.chorus.engine.tokenizer.HfTokenizerTest.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamingDetokenizerTest {

    private static HfTokenizer hf;
    private static Llama2cTokenizer llama2c;

    @BeforeAll
    static void load() {
        hf = HfTokenizer.load(HfTokenizerTest.sharedModel("TinyStories-656K/tokenizer.json"));
        llama2c = Llama2cTokenizer.load(Llama2cTokenizerTest.tok512(), 512);
    }

    @AfterAll
    static void close() {
        hf.close();
        llama2c.close();
    }

    @Test
    void hfStreamAfterBosMatchesFullDecode() {
        List<String> chunks = stream(hf, HfTokenizerTest.BOS_PROMPT, HfTokenizerTest.BOS_GENERATED);
        assertEquals(HfTokenizerTest.BOS_TEXT, String.join("", chunks));
        // one chunk per token: every token here completes its text
        assertEquals(List.of("On", "ce ", "upon a tim", "e, "), chunks.subList(0, 4));
        assertEquals("", chunks.get(chunks.size() - 1)); // flush has nothing left
    }

    @Test
    void hfStreamAfterPromptMatchesFullDecode() {
        List<String> chunks = stream(hf, HfTokenizerTest.TOM_PROMPT, HfTokenizerTest.TOM_GENERATED);
        assertEquals(HfTokenizerTest.TOM_TEXT, String.join("", chunks));
        assertEquals(expectedSuffix(hf, HfTokenizerTest.TOM_PROMPT, HfTokenizerTest.TOM_GENERATED),
                String.join("", chunks));
        assertEquals(". He wanted to ", chunks.get(0));
    }

    @Test
    void hfStreamKeepsSpacesFromStandaloneSpaceTokens() {
        // 80 is "▁": a window starting with it would lose the space to the decoder's leading strip
        int[] generated = {80, 147, 80, 80, 201, 80};
        List<String> chunks = stream(hf, new int[] {1, 80, 388}, generated);
        assertEquals(expectedSuffix(hf, new int[] {1, 80, 388}, generated), String.join("", chunks));
        assertEquals(" On  ce  ", String.join("", chunks));
    }

    @Test
    void llama2cStreamMatchesFullDecode() {
        String completion = ". He liked to play with his toys. He saw a big ball.\nTim wanted to play café 日本!";
        int[] prompt = llama2c.encode("Tim had a red ball");
        int[] generated = withoutBos(llama2c.encode(completion));
        List<String> chunks = stream(llama2c, prompt, generated);
        assertEquals(expectedSuffix(llama2c, prompt, generated), String.join("", chunks));
        // the dummy-prefix space of the encoded completion is real text after the prompt
        assertEquals(" . He liked to play with his toys. He saw a big ball.\nTim wanted to play café 日本!",
                String.join("", chunks));
    }

    @Test
    void llama2cStreamAfterBosStripsOnlyTheFirstSpace() {
        int[] generated = withoutBos(llama2c.encode("Once upon a time"));
        List<String> chunks = stream(llama2c, new int[] {1}, generated);
        assertEquals(List.of("Once", " upon", " a", " time", ""), chunks);
    }

    @Test
    void holdsBackSplitCharacterUntilComplete() {
        int e6 = idOfPiece("<0xE6>");
        int x97 = idOfPiece("<0x97>");
        int a5 = idOfPiece("<0xA5>");
        int space = idOfPiece(" ");
        StreamingDetokenizer detok = new StreamingDetokenizer(llama2c, llama2c.encode("Tim"));
        assertEquals(" ", detok.push(space));
        assertEquals("", detok.push(e6));
        assertEquals("", detok.push(x97));
        assertEquals("日", detok.push(a5));
        assertEquals("", detok.push(e6));
        assertEquals("", detok.push(x97));
        assertEquals("日", detok.push(a5));
        assertEquals("", detok.flush());
    }

    @Test
    void flushEmitsAnIncompleteCharacterAsReplacement() {
        StreamingDetokenizer detok = new StreamingDetokenizer(llama2c, new int[] {1});
        assertEquals("", detok.push(idOfPiece("<0xE6>")));
        assertEquals("", detok.push(idOfPiece("<0x97>")));
        assertEquals("\uFFFD", detok.flush());
        assertEquals("", detok.flush());
    }

    @Test
    void specialTokensProduceNothingAndKeepTheNextSpace() {
        int[] generated = {idOfPiece(" the"), 2, idOfPiece(" the")};
        List<String> chunks = stream(llama2c, new int[] {1, idOfPiece(" a")}, generated);
        assertEquals(List.of(" the", "", " the", ""), chunks);
    }

    @Test
    void emptyPromptStillMatchesFullDecode() {
        List<String> chunks = stream(hf, new int[0], HfTokenizerTest.BOS_GENERATED);
        assertEquals(hf.decode(HfTokenizerTest.BOS_GENERATED), String.join("", chunks));
    }

    @Test
    void hfByteFallbackPromptCutMidCharacterStillStreamsWholeCharacters(@TempDir Path dir) throws IOException {
        // tokenizers' ByteFallback decoder turns a run of byte tokens that is not valid UTF-8 into one
        // U+FFFD per byte, so a context window starting inside a character would poison the whole run.
        Path file = Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "added_tokens": [
                   {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true},
                   {"id": 2, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": null, "post_processor": null,
                 "decoder": {"type": "Sequence", "decoders": [
                   {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                   {"type": "ByteFallback"}, {"type": "Fuse"},
                   {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
                 "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "merges": [],
                           "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0xE6>": 3, "<0x97>": 4, "<0xA5>": 5,
                                     "▁": 6, "a": 7}}}
                """);
        try (HfTokenizer t = HfTokenizer.load(file)) {
            assertEquals("日日日", t.decode(new int[] {1, 3, 4, 5, 3, 4, 5, 3, 4, 5}));
            assertEquals("\uFFFD\uFFFD\uFFFD", t.decode(new int[] {4, 5, 3}));
            // 5 tokens of initial context would start at the second character's 0x97
            int[] prompt = {1, 3, 4, 5, 3, 4, 5, 3, 4, 5};
            int[] generated = {3, 4, 5, 6, 7};
            List<String> chunks = stream(t, prompt, generated);
            assertEquals(List.of("", "", "日", " ", "a", ""), chunks);
        }
    }

    /** Pushes every id, then flushes; returns each call's output (flush last) and checks none has U+FFFD. */
    private static List<String> stream(Tokenizer tokenizer, int[] prompt, int[] generated) {
        StreamingDetokenizer detok = new StreamingDetokenizer(tokenizer, prompt);
        List<String> chunks = new ArrayList<>();
        for (int id : generated) {
            chunks.add(detok.push(id));
        }
        chunks.add(detok.flush());
        for (String chunk : chunks) {
            assertFalse(chunk.contains("\uFFFD"), "chunk with U+FFFD: " + chunks);
        }
        return chunks;
    }

    private static String expectedSuffix(Tokenizer tokenizer, int[] prompt, int[] generated) {
        String full = tokenizer.decode(concat(prompt, generated));
        String promptText = tokenizer.decode(prompt);
        assertEquals(promptText, full.substring(0, promptText.length()));
        return full.substring(promptText.length());
    }

    private static int[] withoutBos(int[] ids) {
        assertEquals(1, ids[0]);
        return Arrays.copyOfRange(ids, 1, ids.length);
    }

    private static int idOfPiece(String piece) {
        for (int id = 0; id < llama2c.vocabSize(); id++) {
            if (llama2c.piece(id).equals(piece)) {
                return id;
            }
        }
        throw new AssertionError("no piece " + piece);
    }
}
