package frl.data;

import java.util.function.IntUnaryOperator;

/** Orders drawn at random: the training batches' and the letters' (one Fisher–Yates, so both draw alike). */
public final class Permutation {
    private Permutation() {}

    /** 0..n-1 in a random order, Fisher–Yates from the top: {@code below.applyAsInt(b)} draws a uniform int in [0, b). */
    public static int[] of(int n, IntUnaryOperator below) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = below.applyAsInt(i + 1), t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
