using System.Runtime.CompilerServices;

namespace XMod.TestSupport.Module;

/// <summary>
/// Compiled into every test assembly (tests/Directory.Build.targets): before any of its code runs,
/// the process's XMOD_HOME becomes a fresh temporary directory, inherited by the CLI processes
/// tests start, so nothing falls back to the user's ~/.xmod.
/// </summary>
internal static class HermeticHome
{
#pragma warning disable CA2255 // a test assembly is the entry point of its test process: this is exactly a module initializer's job
    [ModuleInitializer]
    internal static void Initialize() => HermeticEnvironment.Apply();
#pragma warning restore CA2255
}
