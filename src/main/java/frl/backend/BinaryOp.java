package frl.backend;

/** Broadcasting elementwise functions of two tensors, with both partial derivatives (given a, b and out). */
public enum BinaryOp {
    ADD {
        public double apply(double a, double b) { return a + b; }
        public double da(double a, double b, double out) { return 1; }
        public double db(double a, double b, double out) { return 1; }
    },
    SUB {
        public double apply(double a, double b) { return a - b; }
        public double da(double a, double b, double out) { return 1; }
        public double db(double a, double b, double out) { return -1; }
    },
    MUL {
        public double apply(double a, double b) { return a * b; }
        public double da(double a, double b, double out) { return b; }
        public double db(double a, double b, double out) { return a; }
    },
    DIV {
        public double apply(double a, double b) { return a / b; }
        public double da(double a, double b, double out) { return 1 / b; }
        public double db(double a, double b, double out) { return -out / b; }
    };

    public abstract double apply(double a, double b);

    public abstract double da(double a, double b, double out);

    public abstract double db(double a, double b, double out);
}
