package frl.nn;

import frl.autograd.Var;

import java.util.ArrayList;
import java.util.List;

/**
 * Layers applied in order, as torch.nn.Sequential: named 0, 1, 2… by {@link #add(Layer)}, or by the given
 * name (torch's add_module, e.g. "input-conv" in the reference VAE) by {@link #add(String, Layer)}.
 */
public final class Sequential extends Layer {
    private final List<Layer> layers = new ArrayList<>();

    public Sequential(Layer... layers) {
        for (Layer l : layers) add(l);
    }

    public Sequential add(Layer layer) { return add(Integer.toString(layers.size()), layer); }

    public Sequential add(String name, Layer layer) {
        addModule(name, layer);
        layers.add(layer);
        return this;
    }

    public Layer get(int i) { return layers.get(i); }

    public int size() { return layers.size(); }

    @Override public Var forward(Var x) { return forwardUpTo(x, layers.size()); }

    /** The first {@code end} layers applied to x. */
    public Var forwardUpTo(Var x, int end) {
        for (Layer l : layers.subList(0, end)) x = l.forward(x);
        return x;
    }
}
