package frl.backend.cuda;

import org.bytedeco.javacpp.Pointer;

/** A JavaCPP pointer to a raw address (device memory, or native host memory from FFM), owning nothing. */
final class DevicePointer extends Pointer {
    DevicePointer(long address) {
        this.address = address;
    }
}
