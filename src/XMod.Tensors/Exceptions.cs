namespace XMod.Tensors;

/// <summary>libtorch reported an error; the message is libtorch's own, without its C++ backtrace.</summary>
public sealed class TorchException(string message) : XModException(message);

/// <summary>The native library could not be found, loaded, or is from another build.</summary>
public sealed class XModNativeException(string message) : XModException(message);

/// <summary>SentencePiece reported an error (a bad model file, training that cannot succeed, ...).</summary>
public sealed class TokenizerException(string message) : XModException(message);
