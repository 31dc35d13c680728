package frl.cli;

import frl.io.Problems;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.nio.file.FileSystemException;

/** The frl-engine command line: {@code java -jar frl-engine.jar <command>}. */
@Command(name = "frl", mixinStandardHelpOptions = true, version = "frl-engine 0.1.0",
        description = "Frequency-regularized generative models for out-of-distribution detection.",
        subcommands = {DemoCommand.class, InfoCommand.class, DataCommand.class, TrainCommand.class, ScoreCommand.class, EvalCommand.class, SampleCommand.class, BenchCommand.class, KernelBenchCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override public void run() { CommandLine.usage(this, System.out); }

    public static void main(String[] args) { System.exit(run(args)); }

    /** Runs a command line and returns its exit code; errors are one clear line, never a stack trace. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println(cmd.getCommandSpec().qualifiedName() + ": " + message(e));   // "frl data export: ..."
            if (Boolean.getBoolean("frl.trace")) e.printStackTrace(cmd.getErr());
            return 1;
        });
        return cli.execute(args);
    }

    /** The error's message; where Java's says only a path (file-system errors), the path and what went wrong. */
    static String message(Throwable e) {
        String m = e.getMessage();
        for (Throwable t = e; t != null; t = t.getCause())
            if (t instanceof FileSystemException f && (m == null || m.equals(f.getFile()) || m.equals(f.getMessage()))) return Problems.reason(f);
        return m == null ? e.toString() : m;
    }
}
