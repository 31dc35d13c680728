package frl.nn;

/**
 * A learning-rate multiplier as a function of t, the number of scheduler steps taken so far (torch's
 * last_epoch): the learning rate is base · factor(t). Stateless, so a checkpoint only needs t.
 */
public sealed interface LrSchedule {
    double factor(long t);

    /** Sets the optimizer's learning rate for scheduler step t. */
    default void apply(Optimizer opt, double baseLr, long t) {
        if (t < 0) throw new IllegalArgumentException("learning-rate schedule: step must be ≥ 0, got " + t);
        opt.setLr(baseLr * factor(t));
    }

    /** Both multipliers at once (e.g. warm-up then decay). */
    default LrSchedule times(LrSchedule other) { return new Product(this, other); }

    record Constant() implements LrSchedule {
        public double factor(long t) { return 1; }
    }

    /** torch.optim.lr_scheduler.StepLR: γ^⌊t / stepSize⌋. */
    record StepLr(long stepSize, double gamma) implements LrSchedule {
        public StepLr {
            if (stepSize < 1 || !(gamma > 0)) throw new IllegalArgumentException("StepLR: need step size ≥ 1 and γ > 0, got " + stepSize + ", " + gamma);
        }

        public double factor(long t) { return Math.pow(gamma, Math.floorDiv(t, stepSize)); }
    }

    /** Linear warm-up, torch's LambdaLR(λ t: min(1, (t + 1) / steps)): reaches the base rate at t = steps − 1. */
    record LinearWarmup(long steps) implements LrSchedule {
        public LinearWarmup {
            if (steps < 1) throw new IllegalArgumentException("linear warm-up: need steps ≥ 1, got " + steps);
        }

        public double factor(long t) { return Math.min(1.0, (t + 1) / (double) steps); }
    }

    record Product(LrSchedule a, LrSchedule b) implements LrSchedule {
        public double factor(long t) { return a.factor(t) * b.factor(t); }
    }
}
