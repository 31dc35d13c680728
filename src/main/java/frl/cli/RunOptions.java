package frl.cli;

import picocli.CommandLine.Option;

/** Options every computing command shares. */
final class RunOptions {
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu or cuda. Default: ${DEFAULT-VALUE}.") String device;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of every random draw. Default: ${DEFAULT-VALUE}.") long seed;
}
