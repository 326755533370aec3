<#
.SYNOPSIS
  Installs hygiene into a virtual environment and registers the weekly scan task.
.EXAMPLE
  .\install-hygiene-task.ps1 -Config C:\ProgramData\hygiene\config\northwind.toml
#>
param(
    [Parameter(Mandatory = $true)][string]$Config,
    [string]$InstallDir = "C:\Program Files\hygiene",
    [string]$DataDir = "C:\ProgramData\hygiene",
    [string]$Python = "py"
)
$ErrorActionPreference = "Stop"
if (-not (Test-Path $Config)) { throw "config not found: $Config" }
New-Item -ItemType Directory -Force -Path $InstallDir, $DataDir | Out-Null
& $Python -3.11 -m venv "$InstallDir\venv"
& "$InstallDir\venv\Scripts\python.exe" -m pip install --upgrade hygiene
& "$InstallDir\venv\Scripts\hygiene.exe" config validate $Config
if ($LASTEXITCODE -ne 0) { throw "the config does not validate" }
# Only SYSTEM, Administrators and NETWORK SERVICE (which runs the task) may read the data folder
icacls $DataDir /inheritance:r /grant:r "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" "NETWORK SERVICE:(OI)(CI)M" | Out-Null
$xml = Get-Content -Raw -Path (Join-Path $PSScriptRoot "hygiene-scan.xml")
$xml = $xml.Replace("C:\Program Files\hygiene", $InstallDir).Replace("C:\ProgramData\hygiene\config\northwind.toml", $Config)
$xml = $xml.Replace("<WorkingDirectory>C:\ProgramData\hygiene</WorkingDirectory>", "<WorkingDirectory>$DataDir</WorkingDirectory>")
Register-ScheduledTask -TaskName "hygiene scan" -TaskPath "\hygiene\" -Xml $xml -Force | Out-Null
[Environment]::SetEnvironmentVariable("HYGIENE_DATA_DIR", $DataDir, "Machine")
Write-Host "Registered the weekly hygiene scan. Secrets: set the env vars your config names (machine scope)."
