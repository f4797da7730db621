@echo off
rem riskmap @VERSION@ (@PLATFORM@): offline install. Usage: install.bat [directory]
rem Makes a virtual environment with this machine's Python 3.11 or 3.12 (python.org installer, or the
rem PYTHON variable) and installs riskmap from the wheels folder without any network.
rem Saved in GBK: cmd.exe reads a batch file in the console's code page (936 on a Chinese Windows).
setlocal EnableExtensions
set "HERE=%~dp0"
set "TARGET=%~1"
if "%TARGET%"=="" set "TARGET=%HERE%venv"

if defined PYTHON set PY="%PYTHON%"
if defined PYTHON goto check
set "PY=py -3.12"
py -3.12 -c "" >nul 2>&1 && goto check
set "PY=py -3.11"
py -3.11 -c "" >nul 2>&1 && goto check
set "PY=python"

:check
%PY% -c "import sys, struct; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)) or struct.calcsize('P') != 8)" >nul 2>&1 || goto nopython
if exist "%TARGET%\" if not exist "%TARGET%\pyvenv.cfg" goto notempty

echo Python: %PY% -^> %TARGET%
%PY% -m venv "%TARGET%" || goto novenv
rem --isolated and no config file: the office's pip.ini and PIP_* variables (an unreachable mirror) stay out.
set "PIP_CONFIG_FILE=nul"
"%TARGET%\Scripts\python.exe" -m pip --isolated install -q --disable-pip-version-check --no-index --find-links "%HERE%wheels" "@REQUIREMENT@" || goto pipfail

echo.
echo riskmap @VERSION@ 已安装。Installed.
echo 试运行示例区县（地图、GeoPackage、检查计划）Try the demo district (map, GeoPackage, inspection plan):
echo   "%TARGET%\Scripts\riskmap" demo
echo   然后用浏览器打开 then open in a browser: riskmap-demo\map.html
echo 示例区县的 Word 报告 The demo district's Word report:
echo   "%TARGET%\Scripts\riskmap" init demo-project
echo   "%TARGET%\Scripts\riskmap" report demo-project\riskmap.toml --out demo-report
echo 你自己的区县：修改 demo-project 里的文件，再运行 Your own district: edit the files in demo-project, then run
echo   "%TARGET%\Scripts\riskmap" run demo-project\riskmap.toml
pause
exit /b 0

:nopython
echo 未找到 64 位的 Python 3.11 或 3.12。请用 python.org 的 Windows 64 位安装程序安装 Python 3.11 或 3.12，安装时勾选“Add python.exe to PATH”，再双击 install.bat。
echo 64-bit Python 3.11 or 3.12 not found. Install Python 3.11 or 3.12 with python.org's Windows 64-bit installer, tick "Add python.exe to PATH", then run install.bat again.
pause
exit /b 1

:notempty
echo %TARGET% 已存在且不是 riskmap 的虚拟环境：请指定一个新文件夹，例如 install.bat D:\riskmap-venv
echo %TARGET% exists and is not a riskmap virtual environment: name a new folder, e.g. install.bat D:\riskmap-venv
pause
exit /b 1

:novenv
echo 无法用 %PY% 创建虚拟环境：请重新安装 python.org 的 Python 3.11 或 3.12，再双击 install.bat。
echo Cannot create a virtual environment with %PY%: reinstall Python 3.11 or 3.12 from python.org, then run install.bat again.
pause
exit /b 1

:pipfail
echo 安装失败（见上方 pip 的信息）。
echo Installation failed (see pip's message above).
pause
exit /b 1
