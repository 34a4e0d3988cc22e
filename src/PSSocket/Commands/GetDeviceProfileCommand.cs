using PSSocket.Sessions.Devices;

namespace PSSocket.Commands
{
    /// <summary>
    /// <para type="synopsis">Lists the device profiles Invoke-DeviceCommand knows: the module's own and the ones added with -DeviceProfile.</para>
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "DeviceProfile")]
    [OutputType(typeof(DeviceProfile))]
    public sealed class GetDeviceProfileCommand : PSSocketCmdlet
    {
        /// <summary>Device type names to show; wildcards allowed. Default: all.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("DeviceType")]
        [ArgumentCompleter(typeof(DeviceTypeCompleter))]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string[]? Name { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            DeviceProfileArguments.EnsureBuiltIn();
            var all = DeviceProfiles.All;
            if (Name is null)
            {
                WriteObject(all, enumerateCollection: true);
                return;
            }

            foreach (var name in Name)
            {
                var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
                var found = all.Where(p => pattern.IsMatch(p.Name)).ToArray();
                if (found.Length == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                {
                    WriteError(ErrorRecords.Create(SocketErrorKind.InvalidArgument, $"'{name}' is not a known device type. Known types: {string.Join(", ", all.Select(p => p.Name))}.", name));
                }

                WriteObject(found, enumerateCollection: true);
            }
        }
    }
}
