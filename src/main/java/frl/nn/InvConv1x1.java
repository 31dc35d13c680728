package frl.nn;

import frl.autograd.Layout;
import frl.autograd.Linear;
import frl.autograd.Pointwise;
import frl.autograd.Reduce;
import frl.autograd.Var;
import frl.backend.Backend;
import frl.backend.Backends;
import frl.backend.ConvGeometry;
import frl.backend.Rng;
import frl.tensor.Scope;
import frl.tensor.Shape;
import frl.tensor.Tensor;

/**
 * Glow's invertible 1×1 convolution, LU-parametrised: W = P·(L⊙mask_l + I)·(U⊙mask_u + diag(sign·exp(w_s))),
 * so log |det W| = Σ w_s and the layer's log-determinant is H·W·Σ w_s without any determinant on the device.
 * P, L, U start as the float64 LU factors of a random rotation; the inverse is taken in float64 on the host.
 * Names follow the common PyTorch port (w_p, w_l, w_s, w_u, s_sign, l_mask, u_mask, l_eye).
 */
public final class InvConv1x1 extends Module implements Flow {
    private static final ConvGeometry ONE_BY_ONE = ConvGeometry.of(1, 0);
    public final Parameter lower, logScale, upper;
    private final Tensor perm, sign, lowerMask, upperMask, eye;
    private final int channels;

    public InvConv1x1(Backend be, int channels, Rng rng) {
        if (channels < 1) throw new IllegalArgumentException("InvConv1x1: need channels ≥ 1, got " + channels);
        this.channels = channels;
        Lu lu = Lu.of(Lu.randomOrthogonal(channels, rng));
        int c = channels;
        double[] s = new double[c], signs = new double[c], lMask = new double[c * c], uMask = new double[c * c];
        for (int i = 0; i < c; i++) {
            s[i] = Math.log(Math.abs(lu.upper()[i][i]));
            signs[i] = Math.signum(lu.upper()[i][i]);
            for (int j = 0; j < c; j++) {
                lMask[i * c + j] = j < i ? 1 : 0;
                uMask[i * c + j] = j > i ? 1 : 0;
            }
        }
        Shape square = Shape.of(c, c);
        perm = registerBuffer("w_p", host(be, square, flat(lu.p())));
        lower = registerParameter("w_l", Parameter.of(host(be, square, flat(lu.lower()))));
        logScale = registerParameter("w_s", Parameter.of(host(be, Shape.of(c), s)));
        upper = registerParameter("w_u", Parameter.of(host(be, square, flat(strictlyUpper(lu.upper())))));
        sign = registerBuffer("s_sign", host(be, Shape.of(c), signs));
        lowerMask = registerBuffer("l_mask", host(be, square, lMask));
        upperMask = registerBuffer("u_mask", host(be, square, uMask));
        eye = registerBuffer("l_eye", host(be, square, flat(Lu.identity(c))));
    }

    @Override public Result forward(Var x) {
        requireInput(x.shape());
        return new Result(apply(x, weight(lower, upper, logScale)), logdet(x.shape()));
    }

    /** W from its factors; the factors are arguments so that gradient checks can pass their own leaves. */
    Var weight(Var l, Var u, Var s) {
        Var unitLower = Pointwise.add(Pointwise.mul(l, Var.constant(lowerMask)), Var.constant(eye));
        Var diagonal = Pointwise.mul(Var.constant(eye), Layout.reshape(Pointwise.mul(Var.constant(sign), Pointwise.exp(s)), 1, channels));
        Var upperWithDiagonal = Pointwise.add(Pointwise.mul(u, Var.constant(upperMask)), diagonal);
        return Linear.matmul(Linear.matmul(Var.constant(perm), false, unitLower, false), false, upperWithDiagonal, false);
    }

    Var weight() { return weight(lower, upper, logScale); }

    /** The 1×1 convolution with a [C, C] weight, plus an optional per-channel bias. */
    static Var apply(Var x, Var w, Var bias) {
        int c = w.shape().dim(0);
        return Linear.conv2d(x, Layout.reshape(w, c, c, 1, 1), bias, ONE_BY_ONE);
    }

    private static Var apply(Var x, Var w) { return apply(x, w, null); }

    /** H·W·Σ w_s, shape [1]. */
    Var logdet(Shape xShape) {
        return Pointwise.scale(Reduce.sumAll(logScale), (double) xShape.dim(2) * xShape.dim(3));
    }

    @Override public Tensor reverse(Tensor y) {
        requireInput(y.shape());
        Backend be = Backends.of(y);
        double[][] inverse = Lu.of(weightInDouble()).inverse();
        Tensor w = be.fromHost(Shape.of(channels, channels, 1, 1), flat(inverse));
        return be.conv2d(y, w, ONE_BY_ONE);
    }

    /** W composed in float64 from the current parameter values (for the inverse and for checks). */
    public double[][] weightInDouble() {
        int c = channels;
        double[] l = lower.value().toDoubles(), u = upper.value().toDoubles(), s = logScale.value().toDoubles();
        double[] p = perm.toDoubles(), sg = sign.toDoubles();
        double[][] pm = new double[c][c], lm = Lu.identity(c), um = new double[c][c];
        for (int i = 0; i < c; i++) {
            for (int j = 0; j < c; j++) {
                pm[i][j] = p[i * c + j];
                if (j < i) lm[i][j] = l[i * c + j];
                if (j > i) um[i][j] = u[i * c + j];
            }
            um[i][i] = sg[i] * Math.exp(s[i]);
        }
        return Lu.multiply(Lu.multiply(pm, lm), um);
    }

    private void requireInput(Shape s) {
        if (s.rank() != 4 || s.dim(1) != channels)
            throw new IllegalArgumentException("InvConv1x1(" + channels + "): expected [N," + channels + ",H,W], got " + s);
    }

    private static Tensor host(Backend be, Shape shape, double[] values) {
        return Scope.unscoped(() -> be.fromHost(shape, values));
    }

    private static double[][] strictlyUpper(double[][] u) {
        double[][] out = new double[u.length][u.length];
        for (int i = 0; i < u.length; i++) for (int j = i + 1; j < u.length; j++) out[i][j] = u[i][j];
        return out;
    }

    static double[] flat(double[][] m) {
        int n = m.length, k = m[0].length;
        double[] out = new double[n * k];
        for (int i = 0; i < n; i++) System.arraycopy(m[i], 0, out, i * k, k);
        return out;
    }
}
