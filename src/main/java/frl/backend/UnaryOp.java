package frl.backend;

/**
 * Elementwise functions with their derivatives, stated once in double precision: the reference backend
 * evaluates these directly, fast backends must agree with them. {@code a}, {@code b} are the op's
 * parameters (ELU: alpha; CLAMP: low, high); the derivative may use the input x or the output y.
 */
public enum UnaryOp {
    RELU {
        public double apply(double x, double a, double b) { return x > 0 ? x : 0; }
        public double derivative(double x, double y, double a, double b) { return x > 0 ? 1 : 0; }
    },
    ELU {
        public double apply(double x, double a, double b) { return x > 0 ? x : a * Math.expm1(x); }
        public double derivative(double x, double y, double a, double b) { return x > 0 ? 1 : y + a; }
    },
    SIGMOID {
        public double apply(double x, double a, double b) { return 1 / (1 + Math.exp(-x)); }
        public double derivative(double x, double y, double a, double b) { return y * (1 - y); }
    },
    TANH {
        public double apply(double x, double a, double b) { return Math.tanh(x); }
        public double derivative(double x, double y, double a, double b) { return 1 - y * y; }
    },
    EXP {
        public double apply(double x, double a, double b) { return Math.exp(x); }
        public double derivative(double x, double y, double a, double b) { return y; }
    },
    LOG {
        public double apply(double x, double a, double b) { return Math.log(x); }
        public double derivative(double x, double y, double a, double b) { return 1 / x; }
    },
    /** log(1 + e^x), computed without overflow. */
    SOFTPLUS {
        public double apply(double x, double a, double b) { return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))); }
        public double derivative(double x, double y, double a, double b) { return 1 / (1 + Math.exp(-x)); }
    },
    SQUARE {
        public double apply(double x, double a, double b) { return x * x; }
        public double derivative(double x, double y, double a, double b) { return 2 * x; }
    },
    SQRT {
        public double apply(double x, double a, double b) { return Math.sqrt(x); }
        public double derivative(double x, double y, double a, double b) { return 0.5 / y; }
    },
    NEG {
        public double apply(double x, double a, double b) { return -x; }
        public double derivative(double x, double y, double a, double b) { return -1; }
    },
    /** Clamp to [a, b]; the gradient passes where a ≤ x ≤ b, as in PyTorch. */
    CLAMP {
        public double apply(double x, double a, double b) { return Math.min(Math.max(x, a), b); }
        public double derivative(double x, double y, double a, double b) { return x >= a && x <= b ? 1 : 0; }
    };

    public abstract double apply(double x, double a, double b);

    public abstract double derivative(double x, double y, double a, double b);
}
