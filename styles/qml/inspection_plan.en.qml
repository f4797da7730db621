<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0" styleCategories="Symbology|Labeling" labelsEnabled="0">
 <renderer-v2 type="categorizedSymbol" attr="level" symbollevels="1" forceraster="0" enableorderby="0" referencescale="-1">
  <categories>
   <category symbol="0" value="red" label="Major risk" render="true" type="string" />
   <category symbol="1" value="orange" label="Considerable risk" render="true" type="string" />
   <category symbol="2" value="yellow" label="General risk" render="true" type="string" />
   <category symbol="3" value="blue" label="Low risk" render="true" type="string" />
   <category symbol="4" value="none" label="Not assessed" render="true" type="string" />
  </categories>
  <symbols>
   <symbol type="marker" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="4">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,0,0,255" type="QString" />
      <Option name="outline_color" value="139,0,0,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="2.4" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
     <prop k="name" v="circle" />
     <prop k="color" v="255,0,0,255" />
     <prop k="outline_color" v="139,0,0,255" />
     <prop k="outline_style" v="solid" />
     <prop k="outline_width" v="0.2" />
     <prop k="outline_width_unit" v="MM" />
     <prop k="size" v="2.4" />
     <prop k="size_unit" v="MM" />
    </layer>
   </symbol>
   <symbol type="marker" name="1" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="3">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,153,0,255" type="QString" />
      <Option name="outline_color" value="163,92,0,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="2.4" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
     <prop k="name" v="circle" />
     <prop k="color" v="255,153,0,255" />
     <prop k="outline_color" v="163,92,0,255" />
     <prop k="outline_style" v="solid" />
     <prop k="outline_width" v="0.2" />
     <prop k="outline_width_unit" v="MM" />
     <prop k="size" v="2.4" />
     <prop k="size_unit" v="MM" />
    </layer>
   </symbol>
   <symbol type="marker" name="2" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="2">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="255,255,0,255" type="QString" />
      <Option name="outline_color" value="140,140,0,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.6" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
     <prop k="name" v="circle" />
     <prop k="color" v="255,255,0,255" />
     <prop k="outline_color" v="140,140,0,255" />
     <prop k="outline_style" v="solid" />
     <prop k="outline_width" v="0.2" />
     <prop k="outline_width_unit" v="MM" />
     <prop k="size" v="1.6" />
     <prop k="size_unit" v="MM" />
    </layer>
   </symbol>
   <symbol type="marker" name="3" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="1">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="0,112,192,255" type="QString" />
      <Option name="outline_color" value="0,63,107,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.6" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
     <prop k="name" v="circle" />
     <prop k="color" v="0,112,192,255" />
     <prop k="outline_color" v="0,63,107,255" />
     <prop k="outline_style" v="solid" />
     <prop k="outline_width" v="0.2" />
     <prop k="outline_width_unit" v="MM" />
     <prop k="size" v="1.6" />
     <prop k="size_unit" v="MM" />
    </layer>
   </symbol>
   <symbol type="marker" name="4" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="name" value="circle" type="QString" />
      <Option name="color" value="191,191,191,255" type="QString" />
      <Option name="outline_color" value="127,127,127,255" type="QString" />
      <Option name="outline_style" value="solid" type="QString" />
      <Option name="outline_width" value="0.2" type="QString" />
      <Option name="outline_width_unit" value="MM" type="QString" />
      <Option name="size" value="1.6" type="QString" />
      <Option name="size_unit" value="MM" type="QString" />
     </Option>
     <prop k="name" v="circle" />
     <prop k="color" v="191,191,191,255" />
     <prop k="outline_color" v="127,127,127,255" />
     <prop k="outline_style" v="solid" />
     <prop k="outline_width" v="0.2" />
     <prop k="outline_width_unit" v="MM" />
     <prop k="size" v="1.6" />
     <prop k="size_unit" v="MM" />
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
</qgis>
