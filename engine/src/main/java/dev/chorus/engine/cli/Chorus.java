package dev.chorus.engine.cli;

import dev.chorus.engine.EngineException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** Entry point of bin/chorus: dispatches to a command; maps failures to one stderr line and an exit code. */
public final class Chorus {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    /** What a command does with its arguments; output on {@code out}, diagnostics on {@code err}. */
    interface Action {
        void run(List<String> args, PrintStream out, PrintStream err);
    }

    /** A command's name, its usage lines (after "chorus "), and what it runs. */
    record Command(String name, String usage, Action action) {
    }

    static final List<Command> COMMANDS = List.of(
            new Command("generate", GenerateCommand.USAGE, GenerateCommand::run),
            new Command("synth", SynthCommand.USAGE, SynthCommand::run),
            new Command("bench", BenchCommand.USAGE, BenchCommand::run),
            new Command("compress", CompressCommand.USAGE, CompressCommand::run),
            new Command("eval", EvalCommand.USAGE, EvalCommand::run),
            new Command("make-data", MakeDataCommand.USAGE, MakeDataCommand::run),
            new Command("finetune", FinetuneCommand.USAGE, FinetuneCommand::run),
            new Command("merge", MergeCommand.USAGE, MergeCommand::run),
            new Command("make-adapter", MakeAdapterCommand.USAGE, MakeAdapterCommand::run));

    private static final String HELP = "usage: chorus <command> [options]   (chorus <command> --help: one command)\n"
            + COMMANDS.stream().map(c -> "  " + c.usage().replace("\n", "\n  ")).collect(Collectors.joining("\n"));

    private Chorus() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).println(HELP);
            return args.length == 0 ? USAGE : OK;
        }
        Optional<Command> command = COMMANDS.stream().filter(c -> c.name().equals(args[0])).findFirst();
        if (command.isEmpty()) {
            err.println("chorus: unknown command '" + args[0] + "' (commands: "
                    + COMMANDS.stream().map(Command::name).collect(Collectors.joining(", ")) + "; see chorus help)");
            return USAGE;
        }
        try {
            command.get().action().run(Arrays.asList(args).subList(1, args.length), out, err);
            return OK;
        } catch (HelpRequested e) {
            out.println("usage: chorus " + command.get().usage());
            return OK;
        } catch (UsageException e) {
            err.println("chorus: " + e.getMessage());
            return USAGE;
        } catch (EngineException | IllegalArgumentException e) {
            err.println("chorus: " + e.getMessage());
            return FAILED;
        }
    }
}
