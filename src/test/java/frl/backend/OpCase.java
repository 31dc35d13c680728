package frl.backend;

import frl.autograd.Var;
import frl.tensor.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * One op under test: a function of Vars and how to draw its inputs. The same case runs through the
 * float64 gradient check and through every fast backend against the reference.
 */
public record OpCase(String name, List<Input> inputs, Function<Var[], Var> f, double nmseTol) {

    /** How an input is drawn; constants (class targets, FIXED inputs) get no gradient. */
    public record Input(Shape shape, Kind kind, int classes) {
        public boolean differentiable() { return kind != Kind.CLASSES && kind != Kind.FIXED; }

        double[] draw(Random r) {
            double[] v = new double[(int) shape.numel()];
            for (int i = 0; i < v.length; i++) v[i] = switch (kind) {
                case NORMAL, FIXED -> r.nextGaussian();
                case POSITIVE -> 0.5 + 1.5 * r.nextDouble();
                case AWAY_FROM_ZERO -> (r.nextBoolean() ? 1 : -1) * (0.1 + r.nextDouble());
                case CLASSES -> r.nextInt(classes);
            };
            return v;
        }
    }

    /** FIXED: drawn as NORMAL, but a constant (an op's gradient for the other inputs alone). */
    public enum Kind { NORMAL, POSITIVE, AWAY_FROM_ZERO, CLASSES, FIXED }

    public static Builder named(String name) { return new Builder(name); }

    public static final class Builder {
        private final String name;
        private final List<Input> inputs = new ArrayList<>();
        private double nmseTol = 1e-7;

        private Builder(String name) { this.name = name; }

        public Builder in(int... dims) { return in(Kind.NORMAL, dims); }

        public Builder in(Kind kind, int... dims) { inputs.add(new Input(Shape.of(dims), kind, 0)); return this; }

        public Builder fixed(int... dims) { return in(Kind.FIXED, dims); }

        public Builder classes(int k, int... dims) { inputs.add(new Input(Shape.of(dims), Kind.CLASSES, k)); return this; }

        public Builder nmse(double tol) { nmseTol = tol; return this; }

        public OpCase of(Function<Var[], Var> f) { return new OpCase(name, List.copyOf(inputs), f, nmseTol); }
    }

    @Override public String toString() { return name; }
}
