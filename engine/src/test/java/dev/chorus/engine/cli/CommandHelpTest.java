package dev.chorus.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Every command answers --help and -h with its own usage on stdout and exit 0, whatever else is on the line. */
class CommandHelpTest {

    private static void assertUsage(String command, ChorusCliTest.Run r) {
        assertEquals(Chorus.OK, r.code(), r.err());
        assertEquals("", r.err(), "nothing on stderr");
        assertTrue(r.out().startsWith("usage: chorus " + command), r.out());
        assertTrue(r.out().contains("--"), "lists the options: " + r.out());
    }

    @Test
    void generateAnswersHelpWithItsUsage() {
        ChorusCliTest.Run r = ChorusCliTest.chorus("generate", "--help");
        assertUsage("generate", r);
        assertTrue(r.out().contains("--adapter DIR"), "generate takes an adapter: " + r.out());
        assertTrue(r.out().contains("--max-tokens"), r.out());
        assertFalse(r.out().contains("compress"), "only generate's usage: " + r.out());
    }

    @Test
    void everyCommandAnswersHelpAndH() {
        for (Chorus.Command c : Chorus.COMMANDS) {
            assertUsage(c.name(), ChorusCliTest.chorus(c.name(), "--help"));
            assertUsage(c.name(), ChorusCliTest.chorus(c.name(), "-h"));
        }
    }

    @Test
    void eachCommandByName() {
        for (String name : new String[] {"generate", "synth", "bench", "compress", "eval", "make-data", "finetune", "merge", "make-adapter"}) {
            assertUsage(name, ChorusCliTest.chorus(name, "--help"));
        }
    }

    @Test
    void helpWinsOverOtherOptionsAndMissingRequiredOnes() {
        assertUsage("compress", ChorusCliTest.chorus("compress", "--sparsity", "lots", "--help"));
        assertUsage("finetune", ChorusCliTest.chorus("finetune", "--rank", "0", "-h"));
        assertUsage("bench", ChorusCliTest.chorus("bench", "decode", "--help"));
        assertUsage("bench", ChorusCliTest.chorus("bench", "multi-lora", "-h"));
    }

    @Test
    void helpAsAnOptionValueIsAValue() {
        ChorusCliTest.Run r = ChorusCliTest.chorus("make-data", "--domain", "--help");
        assertEquals(Chorus.USAGE, r.code(), r.err());
        assertTrue(r.err().contains("unknown --domain '--help'"), r.err());
    }

    @Test
    void theOverviewListsEveryCommand() {
        ChorusCliTest.Run r = ChorusCliTest.chorus("--help");
        assertEquals(Chorus.OK, r.code());
        for (Chorus.Command c : Chorus.COMMANDS) {
            assertTrue(r.out().contains("\n  " + c.name()), c.name() + " missing from " + r.out());
        }
    }
}
