package dev.chorus.engine.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.chorus.engine.TestModels;
import dev.chorus.engine.tokenizer.Tokenizer;
import dev.chorus.engine.tokenizer.Tokenizers;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Training sequences start with the prompt's ids exactly as serving encodes the prompt. */
class TokenBatchesTest {
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizers.open(TestModels.tinyStories656k().resolve("tokenizer.json"), 2048);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void aTokenAcrossThePromptBoundaryIsNotWhatTheModelLearns() {
        String prompt = "Tell me about the cat.";
        String completion = " Arr, the cat sailed the sea.";
        int[] promptIds = tokenizer.encode(prompt);
        int[] joint = tokenizer.encode(prompt + completion);
        // This tokenizer merges ". A" into one token: the joint ids do not start with the prompt's.
        assertNotEquals(promptIds[promptIds.length - 1], joint[promptIds.length - 1]);

        TokenBatches.Encoded e = TokenBatches.encode(new TrainingExample(prompt, completion), tokenizer, 2);
        assertArrayEquals(promptIds, Arrays.copyOf(e.ids(), promptIds.length), "serving's prompt ids come first");
        assertEquals(promptIds.length, e.promptLength(), "the loss starts at the first completion id");
        assertEquals(2, e.ids()[e.ids().length - 1], "EOS last");
        assertEquals(tokenizer.decode(joint), tokenizer.decode(Arrays.copyOf(e.ids(), e.ids().length - 1)), "the same text");
    }

    @Test
    void withoutAMergeTheJointIdsAreKept() {
        Tokenizer chars = new Tokenizer() { // one id per character after BOS (1): nothing ever spans the boundary
            @Override
            public int[] encode(String text) {
                return java.util.stream.IntStream.concat(java.util.stream.IntStream.of(1), text.chars().map(c -> c + 3)).toArray();
            }

            @Override
            public String decode(int[] ids) {
                StringBuilder b = new StringBuilder();
                Arrays.stream(ids).filter(id -> id > 2).forEach(id -> b.append((char) (id - 3)));
                return b.toString();
            }

            @Override
            public int vocabSize() {
                return 300;
            }

            @Override
            public int bosId() {
                return 1;
            }

            @Override
            public int eosId() {
                return 2;
            }

            @Override
            public void close() {
            }
        };
        TokenBatches.Encoded e = TokenBatches.encode(new TrainingExample("ab", "cd"), chars, 2);
        assertArrayEquals(new int[] {1, 'a' + 3, 'b' + 3, 'c' + 3, 'd' + 3, 2}, e.ids());
        assertEquals(3, e.promptLength(), "BOS a b: the loss starts at c");
    }
}
