# deploy/install.cmake - `cmake --install` and the Debian package (issue 18),
# included at the end of CMakeLists.txt.
#
#   cmake --install build [--prefix /usr]     (DESTDIR=... works)
#     sbin/tlstrunk                           the daemon
#     share/man/man8/tlstrunk.8.gz            `tlstrunk --man`: --help's tables
#     share/doc/tlstrunk/README.md, tlstrunk.ini.example
#     lib/systemd/system/tlstrunk.service     ExecStart= this prefix's binary;
#                                             /lib/systemd/system for /usr
#   Nothing under /etc: the configuration is the administrator's (the unit
#   has ConditionPathExists= on it, so it stays inactive until there is one).
#
#   cpack -G DEB --config build/CPackConfig.cmake     tlstrunk_VERSION_ARCH.deb
#     the above for /usr, plus (component "deb", never installed by a plain
#     `cmake --install`): /etc/tlstrunk/tlstrunk.ini, a conffile: the
#     example with its SITE keys commented out, so `tlstrunk -t` refuses it
#     and the service cannot start calls before the site is configured;
#     /usr/share/doc/tlstrunk/copyright and changelog.gz; maintainer scripts
#     in deploy/debian/ (the tlstrunk system user, /etc/tlstrunk/tls; the
#     unit is not enabled; purge removes the user and /etc/tlstrunk).
#     Depends: dpkg-shlibdeps on the binary, plus adduser and ca-certificates
#     (the default roots toward the cloud are read from /etc/ssl/certs).
#
# tests/integration/87_install.sh checks the layout, the man page against
# --help, the package (lintian) and its install/remove/purge in a clean
# Debian 12 root.
include(GNUInstallDirs)

set(TLSTRUNK_SYSTEMD_UNITDIR "" CACHE STRING
  "directory of the systemd unit; empty: /lib/systemd/system when the install prefix is /usr, else PREFIX/lib/systemd/system")

set(_tt_src ${CMAKE_CURRENT_LIST_DIR})        # deploy/
set(_tt_out ${CMAKE_CURRENT_BINARY_DIR}/deploy)
file(MAKE_DIRECTORY ${_tt_out})

# --- tlstrunk(8): printed by the binary just built, from the tables --help
# prints (proxy/main.c), so the page cannot say other than --help.  A cross
# build runs it under CMAKE_CROSSCOMPILING_EMULATOR (COMMAND names the
# target); without one there is no man page.
find_program(TLSTRUNK_GZIP gzip REQUIRED)
if(CMAKE_CROSSCOMPILING AND NOT CMAKE_CROSSCOMPILING_EMULATOR)
  message(WARNING "cross build without CMAKE_CROSSCOMPILING_EMULATOR: no tlstrunk.8")
  set(_tt_man "")
else()
  set(_tt_man ${_tt_out}/tlstrunk.8)
  add_custom_command(OUTPUT ${_tt_man} ${_tt_man}.gz
    COMMAND tlstrunk --man > ${_tt_man}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${_tt_man}.tmp ${_tt_man}
    COMMAND ${TLSTRUNK_GZIP} -9n -c ${_tt_man} > ${_tt_man}.gz
    DEPENDS tlstrunk
    COMMENT "tlstrunk --man > deploy/tlstrunk.8")
  add_custom_target(tlstrunk_man ALL DEPENDS ${_tt_man}.gz)
endif()

# --- the package's files -------------------------------------------------------
# /etc/tlstrunk/tlstrunk.ini: the example, SITE keys commented out.
find_program(TLSTRUNK_AWK NAMES awk mawk gawk REQUIRED)
add_custom_command(OUTPUT ${_tt_out}/tlstrunk.ini
  COMMAND ${TLSTRUNK_AWK} -f ${_tt_src}/debian/tlstrunk.ini.awk
          ${CMAKE_SOURCE_DIR}/config/tlstrunk.ini.example > ${_tt_out}/tlstrunk.ini.tmp
  COMMAND ${CMAKE_COMMAND} -E rename ${_tt_out}/tlstrunk.ini.tmp ${_tt_out}/tlstrunk.ini
  DEPENDS ${_tt_src}/debian/tlstrunk.ini.awk ${CMAKE_SOURCE_DIR}/config/tlstrunk.ini.example
  COMMENT "deploy/tlstrunk.ini: the example with its SITE keys commented out")
configure_file(${_tt_src}/debian/changelog.in ${_tt_out}/changelog @ONLY)
add_custom_command(OUTPUT ${_tt_out}/changelog.gz
  COMMAND ${TLSTRUNK_GZIP} -9n -c ${_tt_out}/changelog > ${_tt_out}/changelog.gz
  DEPENDS ${_tt_out}/changelog)
add_custom_target(tlstrunk_deb_files ALL
  DEPENDS ${_tt_out}/tlstrunk.ini ${_tt_out}/changelog.gz)

# --- install ---------------------------------------------------------------------
install(TARGETS tlstrunk RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
if(_tt_man)
  install(FILES ${_tt_man}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
endif()
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/config/tlstrunk.ini.example
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The unit, made at install time for the prefix installed to (cpack installs
# for /usr, a plain cmake --install for /usr/local): ExecStart= and
# ExecStartPre= name the installed binary, Documentation= the man page.
# deploy/systemd/tlstrunk.service itself names /usr/local/bin/tlstrunk (the
# manual steps in its header; tests/integration/88_packaging.sh).
install(CODE "
  set(_tt_unit_in [[${_tt_src}/systemd/tlstrunk.service]])
  set(_tt_unit_tmp [[${_tt_out}/unit/tlstrunk.service]])
  set(_tt_sbindir [[${CMAKE_INSTALL_SBINDIR}]])
  set(_tt_unitdir [[${TLSTRUNK_SYSTEMD_UNITDIR}]])
  set(_tt_man [[${_tt_man}]])")
install(CODE [[
  if(IS_ABSOLUTE "${_tt_sbindir}")
    set(_tt_bin "${_tt_sbindir}/tlstrunk")
  else()
    set(_tt_bin "${CMAKE_INSTALL_PREFIX}/${_tt_sbindir}/tlstrunk")
  endif()
  if(_tt_unitdir STREQUAL "")
    if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
      set(_tt_unitdir /lib/systemd/system)      # Debian 12's (systemd.pc)
    else()
      set(_tt_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
    endif()
  endif()
  file(READ "${_tt_unit_in}" _tt_unit)
  string(REGEX REPLACE "(\nExec[A-Za-z]*=)/usr/local/bin/tlstrunk" "\\1${_tt_bin}"
         _tt_unit "${_tt_unit}")
  if(_tt_man)
    string(REPLACE "\nDocumentation=" "\nDocumentation=man:tlstrunk(8) " _tt_unit "${_tt_unit}")
  endif()
  file(WRITE "${_tt_unit_tmp}" "${_tt_unit}")
  file(INSTALL DESTINATION "${_tt_unitdir}" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${_tt_unit_tmp}")
]])

# Only in the package (component "deb"; `cmake --install --component deb`
# would put them in too).
install(FILES ${_tt_out}/tlstrunk.ini DESTINATION /etc/tlstrunk
  COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES ${_tt_src}/debian/copyright ${_tt_out}/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT deb EXCLUDE_FROM_ALL)

# --- CPack: one .deb with both components ---------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tlstrunk)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "tlstrunk")
set(CPACK_PACKAGE_CONTACT "tlstrunk maintainers <maintainers@users.noreply.h-seed-f64451a8.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SIP over TLS and SRTP trunk sidecar for plaintext PBXs")
set(CPACK_PACKAGE_DESCRIPTION
"tlstrunk sits between a PBX that speaks only plaintext SIP (UDP/TCP) and
plain RTP, and a cloud contact center trunk (Genesys Cloud BYOC) that
accepts only SIP over TLS 1.2 and SRTP.  It carries the calls over a
persistent, certificate-verified TLS connection and relays the media,
RTP on the PBX side and SRTP (SDES) toward the cloud.
.
The service (tlstrunk.service) is installed but not enabled: set the SITE
keys of /etc/tlstrunk/tlstrunk.ini first.")
# Absolute destinations (/etc, /lib/systemd) need DESTDIR staging.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified deb)
set(CPACK_DEBIAN_PACKAGE_NAME tlstrunk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/tlstrunk/tlstrunk")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${_tt_src}/debian/conffiles ${_tt_src}/debian/postinst
  ${_tt_src}/debian/prerm ${_tt_src}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
