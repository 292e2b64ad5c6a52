package dev.chorus.engine.cli;

import dev.chorus.engine.EngineException;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** Entry point of bin/chorus: dispatches to a command; maps failures to one stderr line and an exit code. */
public final class Chorus {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;

    private static final String HELP = """
            usage: chorus <command> [options]
              generate --model PATH [--tokenizer PATH] [--prompt TEXT] [--max-tokens N] [--temperature T]
                       [--top-k K] [--top-p P] [--seed S] [--device cpu|gpu]
              synth    --shape stories15M|stories42M|stories110M --out FILE [--seed S]
              bench decode --model PATH [--batch B] [--tokens N] [--json] [--device cpu|gpu]
              bench multi-lora --model PATH [--adapters N] [--rank R] [--targets all|qkvo] [--batch B] [--tokens T]
                       [--pattern distinct|identical|zipf] [--json]
              compress --model IN --out DIR --sparsity 0.5|2:4|4:8 [--bits 4|8] [--group-size 32|64|128] [--sym] [--gptq]
                       [--ebft] [--bcq Q] [--calibration self:N|FILE] [--method wanda|magnitude] [--seed S]
              eval     --model M [--reference DENSE] [--samples N] [--data FILE] [--adapter DIR] [--json]
              make-data --domain pirates|space|cooking|sports [--n N] [--seed S] [--out FILE]
              finetune --model BASE --data FILE --out DIR [--type lora|qa-lora|qa-hira|scale|sparse-peft|qa-sparse-peft] [--rank R] [--alpha A]
                       [--targets all|qkvo|q,k,v,o,gate,up,down] [--steps N] [--lr LR] [--batch B] [--accumulation K]
                       [--warmup W] [--linear] [--weight-decay WD] [--max-grad-norm G] [--eval FILE | --eval-split F]
                       [--eval-every K] [--checkpoint-every K] [--init ADAPTER_DIR] [--group-size G] [--seed S] [--json]
              merge    --model COMPRESSED_BASE --adapter DIR --out DIR
              make-adapter --model PATH --out DIR [--type lora|qa-lora|scale] [--rank R] [--targets all|qkvo]
                       [--std S] [--seed S]""";

    private Chorus() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("help")) {
            (args.length == 0 ? err : out).println(HELP);
            return args.length == 0 ? USAGE : OK;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            switch (args[0]) {
                case "generate" -> GenerateCommand.run(rest, out, err);
                case "synth" -> SynthCommand.run(rest, err);
                case "bench" -> BenchCommand.run(rest, out, err);
                case "compress" -> CompressCommand.run(rest, err);
                case "eval" -> EvalCommand.run(rest, out, err);
                case "make-adapter" -> MakeAdapterCommand.run(rest, err);
                case "make-data" -> MakeDataCommand.run(rest, out, err);
                case "finetune" -> FinetuneCommand.run(rest, out, err);
                case "merge" -> MergeCommand.run(rest, err);
                default -> throw new UsageException("unknown command '" + args[0] + "' (commands: generate, synth, bench, compress, eval, make-adapter, make-data, finetune, merge; see chorus help)");
            }
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
