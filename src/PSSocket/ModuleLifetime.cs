using System.Management.Automation;

namespace PSSocket
{
    /// <summary>Closes what the module opened when it is removed.</summary>
    public sealed class ModuleLifetime : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        /// <inheritdoc />
        public void OnImport()
        {
        }

        /// <inheritdoc />
        public void OnRemove(PSModuleInfo psModuleInfo) => SessionManager.CloseAll("The PSSocket module was removed");
    }
}
